#include "engine/kv_tier.h"

#include <algorithm>

namespace kvtier::engine {

KvTier::KvTier(kv::KvConnector& connector, kv::BlockManager& blocks)
    : connector_(connector),
      chain_(dynamic_cast<kv::ChainConnector*>(&connector)),
      blocks_(blocks),
      store_refs_(size_t(blocks.num_blocks()), 0) {}

int32_t KvTier::lookup(const kv::SeqBlocks& seq, int32_t first, int32_t end) {
  end = std::clamp(end, 0, int32_t(seq.hashes.size()));
  if (first < 0 || first >= end) return 0;
  const std::span<const uint64_t> chain(seq.hashes.data(), size_t(end));
  if (!chain_) return connector_.lookup(chain.subspan(size_t(first)));
  return std::clamp(chain_->lookup_chain(chain, first), 0, end - first);
}

void KvTier::start_load(const kv::SeqBlocks& seq, int32_t first, int32_t count) {
  const std::span<const int32_t> dst =
      std::span<const int32_t>(seq.table).subspan(size_t(first), size_t(count));
  if (!chain_) {
    start_load(std::span<const uint64_t>(seq.hashes).subspan(size_t(first), size_t(count)), dst);
    return;
  }
  std::vector<int32_t> held(dst.begin(), dst.end());
  for (int32_t id : held) {
    blocks_.acquire(id);
    blocks_.set_ready(id, false);
  }
  const kv::TransferId id = chain_->start_load_chain(seq.hashes, first, dst);
  loads_.emplace(id, std::move(held));
}

void KvTier::offer(const kv::SeqBlocks& seq, int32_t index) {
  if (!chain_) {
    offer(seq.hashes[size_t(index)], seq.table[size_t(index)]);
    return;
  }
  if (!chain_->offer_chain(seq.hashes, seq.table, index)) return;
  const int32_t k = chain_->blocks_per_group();
  hold_for_store(std::span<const int32_t>(seq.table).subspan(size_t(index + 1 - k), size_t(k)));
}

void KvTier::hold_for_store(std::span<const int32_t> blocks) {
  for (int32_t block : blocks) {
    blocks_.acquire(block);
    ++store_refs_[size_t(block)];
    ++num_store_refs_;
  }
}

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
  hold_for_store(std::span<const int32_t>(&block, 1));
}

KvTier::PollResult KvTier::poll() {
  kv::KvConnector::Completed done = connector_.poll();
  PollResult result;
  result.any_finished =
      !done.loads.empty() || !done.failed_loads.empty() || !done.stored_blocks.empty();
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
  for (kv::TransferId id : done.failed_loads) {
    auto it = loads_.find(id);
    if (it == loads_.end()) continue;
    for (int32_t block : it->second) {
      // Invalidated before the release: a block nobody else holds must not go back to the
      // free queue still keyed, where a later prefix match would take its garbage as computed.
      blocks_.invalidate(block);
      blocks_.release(block);
      result.failed_blocks.push_back(block);
    }
    loads_.erase(it);
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
