#include "kv/block_pool.h"

#include <algorithm>
#include <cassert>

namespace kvtier::kv {

BlockPool::BlockPool(int32_t num_blocks, int32_t block_size, KvEventSink* events)
    : block_size_(block_size),
      events_(events),
      ref_(size_t(num_blocks), 0),
      cached_(size_t(num_blocks), 0),
      ready_(size_t(num_blocks), 1),
      key_(size_t(num_blocks), 0),
      tokens_(size_t(num_blocks) * size_t(block_size), 0),
      prev_(size_t(num_blocks) + 1),
      next_(size_t(num_blocks) + 1) {
  const int32_t sentinel = num_blocks;
  prev_[sentinel] = next_[sentinel] = sentinel;
  for (int32_t id = 0; id < num_blocks; ++id) push_back(id);
  by_key_.reserve(size_t(num_blocks));
}

std::optional<uint64_t> BlockPool::key(int32_t id) const {
  if (!cached_[id]) return std::nullopt;
  return key_[id];
}

std::span<const int32_t> BlockPool::tokens(int32_t id) const {
  return {tokens_.data() + size_t(id) * size_t(block_size_), size_t(block_size_)};
}

int32_t BlockPool::find(uint64_t hash, std::span<const int32_t> tokens) const {
  auto it = by_key_.find(hash);
  if (it == by_key_.end()) return -1;
  auto stored = this->tokens(it->second);
  if (tokens.size() != stored.size() || !std::equal(tokens.begin(), tokens.end(), stored.begin())) {
    return -1;
  }
  return it->second;
}

void BlockPool::acquire(int32_t id) {
  if (ref_[id]++ == 0) unlink(id);
}

void BlockPool::release(int32_t id) {
  if (ref_[id] <= 0) {
    // A release without a reference is a bug; relinking the block would corrupt the free queue.
    assert(false && "release of an unreferenced block");
    ++over_releases_;
    return;
  }
  if (--ref_[id] > 0) return;
  if (cached_[id]) {
    push_back(id);
  } else {
    push_front(id);
  }
}

int32_t BlockPool::allocate() {
  assert(num_free_ > 0);
  const int32_t id = next_[num_blocks()];
  unlink(id);
  assert(ready_[id]);
  if (cached_[id]) drop_key(id);
  ref_[id] = 1;
  return id;
}

bool BlockPool::cache(int32_t id, uint64_t hash, std::span<const int32_t> tokens, bool ready) {
  assert(!cached_[id] && int32_t(tokens.size()) == block_size_);
  if (!by_key_.emplace(hash, id).second) return false;
  cached_[id] = 1;
  ready_[id] = ready ? 1 : 0;
  key_[id] = hash;
  std::copy(tokens.begin(), tokens.end(), tokens_.begin() + size_t(id) * size_t(block_size_));
  return true;
}

void BlockPool::uncache(int32_t id) {
  if (!cached_[id]) return;
  drop_key(id);
  if (ref_[id] == 0) {
    unlink(id);
    push_front(id);
  }
}

std::vector<int32_t> BlockPool::free_queue() const {
  std::vector<int32_t> out;
  out.reserve(size_t(num_free_));
  for (int32_t id = next_[num_blocks()]; id != num_blocks(); id = next_[id]) out.push_back(id);
  return out;
}

void BlockPool::push_front(int32_t id) {
  const int32_t s = num_blocks();
  prev_[id] = s;
  next_[id] = next_[s];
  prev_[next_[s]] = id;
  next_[s] = id;
  ++num_free_;
}

void BlockPool::push_back(int32_t id) {
  const int32_t s = num_blocks();
  next_[id] = s;
  prev_[id] = prev_[s];
  next_[prev_[s]] = id;
  prev_[s] = id;
  ++num_free_;
}

void BlockPool::unlink(int32_t id) {
  next_[prev_[id]] = next_[id];
  prev_[next_[id]] = prev_[id];
  --num_free_;
}

void BlockPool::drop_key(int32_t id) {
  by_key_.erase(key_[id]);
  cached_[id] = 0;
  if (events_) events_->block_removed(BlockRemovedEvent{{key_[id]}, "GPU"});
}

}  // namespace kvtier::kv
