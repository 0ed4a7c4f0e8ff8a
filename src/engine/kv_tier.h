#pragma once
// The engine's side of the second KV tier (KvConnector): which device blocks transfers are
// using, so none is reused before its copy lands. Loads keep a reference on their destination
// blocks and leave them not-ready until poll() reports them; stores keep a reference on their
// source block until it is stored. Engine thread only.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/block_manager.h"
#include "kv/connector.h"

namespace kvtier::engine {

class KvTier {
 public:
  KvTier(kv::KvConnector& connector, kv::BlockManager& blocks);

  // How many of `hashes`, from the first, the tier holds.
  int32_t lookup(std::span<const uint64_t> hashes) { return connector_.lookup(hashes); }
  // Starts loading `hashes` into `blocks` (already keyed in the block manager).
  void start_load(std::span<const uint64_t> hashes, std::span<const int32_t> blocks);
  // Offers a block that just got its key.
  void offer(uint64_t hash, int32_t block);
  struct PollResult {
    bool loads_finished = false;  // some LOADING requests may be ready
    bool any_finished = false;    // the tier's statistics changed
  };
  // Submits queued stores and collects finished transfers.
  PollResult poll();
  // Waits for every transfer, then releases their blocks.
  void drain();

  bool busy() const { return !loads_.empty() || num_store_refs_ > 0; }
  int32_t loads_in_flight() const { return int32_t(loads_.size()); }
  bool store_prompt_only() const { return connector_.store_prompt_only(); }
  kv::KvConnector& connector() { return connector_; }

 private:
  kv::KvConnector& connector_;
  kv::BlockManager& blocks_;
  std::unordered_map<kv::TransferId, std::vector<int32_t>> loads_;
  std::vector<uint16_t> store_refs_;  // per device block: stores in flight
  int64_t num_store_refs_ = 0;
};

}  // namespace kvtier::engine
