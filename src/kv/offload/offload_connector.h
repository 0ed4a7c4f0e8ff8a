#pragma once
// The CPU offload tier (vLLM's OffloadingConnector with the CPU spec): num_cpu_blocks host blocks
// keyed by block hash, filled by stores of newly full device blocks and read back by loads.
// A CPU block holds k = block_size / GPU block size consecutive device blocks of a sequence
// (contiguous host memory, k transfer slots), keyed by the hash of the last of them; it is stored
// once all k are full and loaded only from whole groups (ChainConnector). With k = 1 the
// KvConnector calls suffice; with k > 1 they cannot tell where a block sits in its sequence, so
// they store and find nothing and the caller must use the ChainConnector calls.
//
// A block's life: offer_store() reserves a slot (evicting a victim chosen by the eviction policy
// if the tier is full) and queues the copy; poll() submits the step's queued copies as one batch
// and marks finished ones ready; lookup() finds only ready blocks; start_load() pins its blocks
// until poll() reports the load done. Blocks being stored or loaded are never evicted.
//
// A failed transfer never looks like a success: a failed store drops its blocks (their slots
// go back to the free list, nothing was announced), a failed load drops the blocks it read (no
// longer found; a slot another load still reads is freed when that load ends) and is reported in
// Completed::failed_loads, so the engine recomputes those tokens. Both are counted in stats() and
// logged (TransferFailureLog).
//
// Recency: the policy learns a block's use when it is stored, loaded, or offered again while
// held (the prefix was computed again). A mere lookup() is not a use. At poll() the step's
// offered blocks are requeued last-offered first, and a load touches its blocks last first, so
// the head of a prefix chain stays the most recent and eviction eats chains from their tails.
//
// Threading: the engine thread is the only caller; the BlockTransfer's workers touch only the
// memory of the blocks in flight.
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "kv/connector.h"
#include "kv/offload/chain_connector.h"
#include "kv/events.h"
#include "kv/offload/eviction_policy.h"
#include "kv/offload/failure_log.h"
#include "kv/offload/offload_config.h"
#include "kv/offload/transfer.h"
#include "kv/pool.h"

namespace kvtier::kv {

class CpuOffloadConnector final : public KvConnector, public ChainConnector {
 public:
  // `transfer` must have config.num_cpu_blocks * k host slots for the blocks of `pool`.
  CpuOffloadConnector(const OffloadConfig& config, const KvPool& pool,
                      std::unique_ptr<BlockTransfer> transfer, KvEventSink* events);
  ~CpuOffloadConnector() override;

  int32_t lookup(std::span<const uint64_t> hashes) override;
  TransferId start_load(std::span<const uint64_t> hashes, std::span<const int32_t> dst) override;
  bool offer_store(uint64_t hash, int32_t device_block) override;
  Completed poll() override;
  void drain() override;
  ConnectorStats stats() const override;
  bool store_prompt_only() const override { return config_.store_prompt_only; }

  int32_t blocks_per_group() const override { return k_; }
  int32_t lookup_chain(std::span<const uint64_t> chain, int32_t first) override;
  TransferId start_load_chain(std::span<const uint64_t> chain, int32_t first,
                              std::span<const int32_t> dst) override;
  bool offer_chain(std::span<const uint64_t> chain, std::span<const int32_t> table,
                   int32_t index) override;

  // Inspection, for tests and debugging.
  enum class BlockState { kAbsent, kStoring, kReady };
  BlockState state(uint64_t hash) const;
  int32_t pins(uint64_t hash) const;  // loads in flight reading the block
  const EvictionPolicy& policy() const { return *policy_; }
  const BlockTransfer& transfer() const { return *transfer_; }
  // The first of the k transfer slots of the CPU block keyed `hash`.
  std::optional<int32_t> host_slot(uint64_t hash) const;

 private:
  struct Entry {
    int32_t slot = 0;      // CPU block: transfer slots [slot * k, slot * k + k)
    bool ready = false;    // the store finished: the slot holds the block
    bool dropped = false;  // a load of it failed: not found any more, freed when loads is 0
    int32_t loads = 0;     // loads in flight reading the slot
  };
  // Stores of one poll(): keys[i] takes device blocks blocks[i * k .. i * k + k).
  struct StoreBatch {
    std::vector<uint64_t> keys;
    std::vector<int32_t> blocks;
  };

  bool offer_group(uint64_t key, std::span<const int32_t> device_blocks);
  bool positions_unknown(const char* call);
  bool evictable(uint64_t hash) const;
  bool findable(const Entry& entry) const { return entry.ready && !entry.dropped; }
  void remove(uint64_t key);
  std::optional<int32_t> take_slot();
  void apply_step_order();
  void submit_stores();
  void finish(const TransferCompletion& done, Completed& out);
  void finish_store(const TransferCompletion& done, Completed& out);
  void finish_load(const TransferCompletion& done, Completed& out);
  void emit_events();

  const OffloadConfig config_;
  const KvPool pool_;
  const int32_t k_;  // device blocks per CPU block
  std::unique_ptr<BlockTransfer> transfer_;
  std::unique_ptr<EvictionPolicy> policy_;
  KvEventSink* events_;

  std::unordered_map<uint64_t, Entry> entries_;
  std::vector<int32_t> free_slots_;

  // This step's work, handed over at poll().
  StoreBatch queued_stores_;
  std::vector<uint64_t> step_order_;  // hashes stored or offered again, in offer order
  std::vector<uint64_t> evicted_;     // for one BlockRemoved event
  std::vector<uint64_t> stored_;      // for one BlockStored event

  std::unordered_map<uint64_t, StoreBatch> stores_in_flight_;            // by ticket
  struct LoadBatch {
    std::vector<uint64_t> keys;  // CPU blocks read, each pinned once
    int32_t blocks = 0;          // device blocks written
    Status refused;              // a block asked for that the tier could not load
  };
  std::unordered_map<uint64_t, LoadBatch> loads_in_flight_;  // by ticket
  bool warned_positions_ = false;
  int32_t num_evictable_ = 0;  // ready blocks no load is reading
  int32_t store_blocks_in_flight_ = 0;  // device blocks
  int32_t load_blocks_in_flight_ = 0;   // device blocks

  std::vector<BlockCopy> copies_;                // scratch for submit
  std::vector<TransferCompletion> completions_;  // scratch for poll
  ConnectorStats totals_;
  TransferFailureLog failure_log_{steady_clock()};
};

}  // namespace kvtier::kv
