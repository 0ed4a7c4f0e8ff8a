#include "router/block_lru.h"

namespace kvtier::router {

void BlockLru::add(std::span<const uint64_t> keys) {
  if (capacity_ == 0) return;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    auto found = index_.find(*it);
    if (found != index_.end()) {
      order_.splice(order_.begin(), order_, found->second);
      continue;
    }
    if (index_.size() >= capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(*it);
    index_.emplace(*it, order_.begin());
  }
}

size_t BlockLru::leading_matches(std::span<const uint64_t> keys) const {
  size_t n = 0;
  while (n < keys.size() && index_.count(keys[n])) ++n;
  return n;
}

void BlockLru::clear() {
  order_.clear();
  index_.clear();
}

}  // namespace kvtier::router
