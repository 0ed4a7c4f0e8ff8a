#include "engine/kv_tier.h"

namespace kvtier::engine {

KvTier::KvTier(kv::KvConnector& connector, kv::BlockManager& blocks)
    : connector_(connector), blocks_(blocks), store_refs_(size_t(blocks.num_blocks()), 0) {}

void KvTier::start_load(std::span<const uint64_t> hashes, std::span<const int32_t> blocks) {
  std::vector<int32_t> held(blocks.begin(), blocks.end());
  for (int32_t id : held) {
    blocks_.acquire(id);
    blocks_.set_ready(id, false);
  }
  const kv::TransferId id = connector_.start_load(hashes, blocks);
  loads_.emplace(id, std::move(held));
}

void KvTier::offer(uint64_t hash, int32_t block) {
  if (!connector_.offer_store(hash, block)) return;
  blocks_.acquire(block);
  ++store_refs_[size_t(block)];
  ++num_store_refs_;
}

KvTier::PollResult KvTier::poll() {
  kv::KvConnector::Completed done = connector_.poll();
  PollResult result;
  result.any_finished = !done.loads.empty() || !done.stored_blocks.empty();
  for (kv::TransferId id : done.loads) {
    auto it = loads_.find(id);
    if (it == loads_.end()) continue;
    for (int32_t block : it->second) {
      blocks_.set_ready(block);
      blocks_.release(block);
    }
    loads_.erase(it);
    result.loads_finished = true;
  }
  for (int32_t block : done.stored_blocks) {
    if (block < 0 || size_t(block) >= store_refs_.size() || store_refs_[size_t(block)] == 0) {
      continue;
    }
    --store_refs_[size_t(block)];
    --num_store_refs_;
    blocks_.release(block);
  }
  return result;
}

void KvTier::drain() {
  connector_.drain();
  poll();
}

}  // namespace kvtier::engine
