#pragma once
// The CPU offload tier (vLLM's OffloadingConnector with the CPU spec): num_cpu_blocks host slots
// keyed by block hash, filled by stores of newly full device blocks and read back by loads.
//
// A block's life: offer_store() reserves a slot (evicting a victim chosen by the eviction policy
// if the tier is full) and queues the copy; poll() submits the step's queued copies as one batch
// and marks finished ones ready; lookup() finds only ready blocks; start_load() pins its blocks
// until poll() reports the load done. Blocks being stored or loaded are never evicted.
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
#include "kv/events.h"
#include "kv/offload/eviction_policy.h"
#include "kv/offload/offload_config.h"
#include "kv/offload/transfer.h"
#include "kv/pool.h"

namespace kvtier::kv {

class CpuOffloadConnector final : public KvConnector {
 public:
  // `transfer` must have config.num_cpu_blocks host slots for the blocks of `pool`.
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

  // Inspection, for tests and debugging.
  enum class BlockState { kAbsent, kStoring, kReady };
  BlockState state(uint64_t hash) const;
  int32_t pins(uint64_t hash) const;  // loads in flight reading the block
  const EvictionPolicy& policy() const { return *policy_; }
  const BlockTransfer& transfer() const { return *transfer_; }
  std::optional<int32_t> host_slot(uint64_t hash) const;

 private:
  struct Entry {
    int32_t slot = 0;
    bool ready = false;  // the store finished: the slot holds the block
    int32_t loads = 0;   // loads in flight reading the slot
  };
  struct StoreItem {
    uint64_t hash = 0;
    int32_t device_block = 0;
  };

  bool evictable(uint64_t hash) const;
  std::optional<int32_t> take_slot();
  void apply_step_order();
  void submit_stores();
  void finish(const TransferCompletion& done, Completed& out);
  void emit_events();

  const OffloadConfig config_;
  const KvPool pool_;
  std::unique_ptr<BlockTransfer> transfer_;
  std::unique_ptr<EvictionPolicy> policy_;
  KvEventSink* events_;

  std::unordered_map<uint64_t, Entry> entries_;
  std::vector<int32_t> free_slots_;

  // This step's work, handed over at poll().
  std::vector<StoreItem> queued_stores_;
  std::vector<uint64_t> step_order_;  // hashes stored or offered again, in offer order
  std::vector<uint64_t> evicted_;     // for one BlockRemoved event
  std::vector<uint64_t> stored_;      // for one BlockStored event

  std::unordered_map<uint64_t, std::vector<StoreItem>> stores_in_flight_;  // by ticket
  std::unordered_map<uint64_t, std::vector<uint64_t>> loads_in_flight_;    // by ticket: hashes
  int32_t num_evictable_ = 0;  // ready blocks no load is reading
  int32_t store_blocks_in_flight_ = 0;
  int32_t load_blocks_in_flight_ = 0;

  std::vector<BlockCopy> copies_;                // scratch for submit
  std::vector<TransferCompletion> completions_;  // scratch for poll
  ConnectorStats totals_;
};

}  // namespace kvtier::kv
