#pragma once
// The engine's side of the second KV tier (KvConnector): which device blocks transfers are
// using, so none is reused before its copy lands. Loads keep a reference on their destination
// blocks and leave them not-ready until poll() reports them; stores keep a reference on their
// source blocks until they are stored. Engine thread only.
//
// The calls take the sequence's blocks (SeqBlocks and an index) because a tier whose blocks span
// several device blocks (CPU block_size > GPU block size) needs to know where a block sits in its
// sequence; tiers of one device block per block are reached through bare hashes.
//
// A failed load's destination blocks hold garbage: they lose their keys, become ready (holding
// nothing) and are released, and poll() names them so the scheduler resets the requests holding
// them to recompute those tokens.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/block_manager.h"
#include "kv/connector.h"
#include "kv/offload/chain_connector.h"

namespace kvtier::engine {

class KvTier {
 public:
  KvTier(kv::KvConnector& connector, kv::BlockManager& blocks);

  // How many of the sequence's full blocks [first, end) the tier can supply, from `first`.
  int32_t lookup(const kv::SeqBlocks& seq, int32_t first, int32_t end);
  // Starts loading the sequence's blocks [first, first + count) into its table's blocks (already
  // keyed in the block manager), all found by lookup() in this step.
  void start_load(const kv::SeqBlocks& seq, int32_t first, int32_t count);
  // Offers the sequence's block `index`, which just got its key.
  void offer(const kv::SeqBlocks& seq, int32_t index);

  // Device blocks per tier block.
  int32_t blocks_per_group() const { return chain_ ? chain_->blocks_per_group() : 1; }
  struct PollResult {
    bool loads_finished = false;  // some LOADING requests may be ready
    bool any_finished = false;    // the tier's statistics changed
    std::vector<int32_t> failed_blocks;  // destinations of failed loads, invalidated
  };
  // Submits queued stores and collects finished transfers (failed ones included).
  PollResult poll();
  // Waits for every transfer, then releases their blocks.
  void drain();

  bool busy() const { return !loads_.empty() || num_store_refs_ > 0; }
  int32_t loads_in_flight() const { return int32_t(loads_.size()); }
  bool store_prompt_only() const { return connector_.store_prompt_only(); }
  kv::KvConnector& connector() { return connector_; }

 private:
  void start_load(std::span<const uint64_t> hashes, std::span<const int32_t> blocks);
  void offer(uint64_t hash, int32_t block);
  void hold_for_store(std::span<const int32_t> blocks);

  kv::KvConnector& connector_;
  kv::ChainConnector* chain_;  // the same tier, when it places blocks by sequence position
  kv::BlockManager& blocks_;
  std::unordered_map<kv::TransferId, std::vector<int32_t>> loads_;
  std::vector<uint16_t> store_refs_;  // per device block: stores in flight
  int64_t num_store_refs_ = 0;
};

}  // namespace kvtier::engine
