#pragma once
// Least recently used: a victim is the evictable block inserted or touched longest ago.
#include "kv/offload/eviction_policy.h"
#include "kv/offload/hash_list.h"

namespace kvtier::kv {

class LruPolicy final : public EvictionPolicy {
 public:
  void insert(uint64_t hash) override { order_.push_back(hash); }
  void touch(uint64_t hash) override {
    if (order_.contains(hash)) order_.push_back(hash);
  }
  void requeue(uint64_t hash) override { touch(hash); }
  void erase(uint64_t hash) override { order_.erase(hash); }
  std::optional<uint64_t> evict(const std::function<bool(uint64_t)>& can_evict) override;
  bool contains(uint64_t hash) const override { return order_.contains(hash); }
  size_t size() const override { return order_.size(); }

  const HashList& order() const { return order_; }

 private:
  HashList order_;
};

}  // namespace kvtier::kv
