#pragma once
// Adaptive Replacement Cache (Megiddo and Modha): resident blocks live in T1 (used once) or T2
// (used again); evicted ones are remembered, without data, in the ghost lists B1 and B2. The
// target size p of T1 adapts: a block coming back after eviction from T1 (a B1 hit) means T1 was
// too small, so p grows; one coming back from T2 (a B2 hit) shrinks p. A victim comes from T1
// while T1 (counting a block just inserted into it) is larger than p, else from T2, as vLLM's
// ARCOffloadingManager does. Blocks that come back from a ghost list enter T2.
#include <cstdint>

#include "kv/offload/eviction_policy.h"
#include "kv/offload/hash_list.h"

namespace kvtier::kv {

class ArcPolicy final : public EvictionPolicy {
 public:
  explicit ArcPolicy(int32_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

  void insert(uint64_t hash) override;
  void touch(uint64_t hash) override;
  void requeue(uint64_t hash) override;
  void erase(uint64_t hash) override;
  std::optional<uint64_t> evict(const std::function<bool(uint64_t)>& can_evict) override;
  bool contains(uint64_t hash) const override { return t1_.contains(hash) || t2_.contains(hash); }
  size_t size() const override { return t1_.size() + t2_.size(); }

  const HashList& t1() const { return t1_; }
  const HashList& t2() const { return t2_; }
  const HashList& b1() const { return b1_; }
  const HashList& b2() const { return b2_; }
  int64_t target_t1() const { return p_; }
  int64_t capacity() const { return capacity_; }

 private:
  std::optional<uint64_t> evict_from(HashList& list, HashList& ghosts,
                                     const std::function<bool(uint64_t)>& can_evict);
  void trim_ghosts();

  const int64_t capacity_;
  int64_t p_ = 0;  // target size of T1, in [0, capacity]
  HashList t1_, t2_, b1_, b2_;
};

}  // namespace kvtier::kv
