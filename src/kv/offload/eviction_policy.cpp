#include "kv/offload/eviction_policy.h"

#include <algorithm>

#include "kv/offload/arc_policy.h"
#include "kv/offload/lru_policy.h"

namespace kvtier::kv {

std::optional<EvictionPolicyKind> parse_eviction_policy(std::string_view name) {
  if (name == "lru") return EvictionPolicyKind::kLru;
  if (name == "arc") return EvictionPolicyKind::kArc;
  return std::nullopt;
}

const char* eviction_policy_name(EvictionPolicyKind kind) {
  return kind == EvictionPolicyKind::kArc ? "arc" : "lru";
}

std::unique_ptr<EvictionPolicy> make_eviction_policy(EvictionPolicyKind kind, int32_t capacity) {
  if (kind == EvictionPolicyKind::kArc) return std::make_unique<ArcPolicy>(capacity);
  return std::make_unique<LruPolicy>();
}

std::optional<uint64_t> LruPolicy::evict(const std::function<bool(uint64_t)>& can_evict) {
  for (uint64_t hash : order_) {
    if (can_evict(hash)) {
      order_.erase(hash);
      return hash;
    }
  }
  return std::nullopt;
}

void ArcPolicy::insert(uint64_t hash) {
  if (contains(hash)) return;
  if (b1_.contains(hash)) {
    // Evicted from T1 and wanted again: recency deserved more room.
    const int64_t delta = std::max<int64_t>(1, int64_t(b2_.size()) / int64_t(b1_.size()));
    p_ = std::min(capacity_, p_ + delta);
    b1_.erase(hash);
    t2_.push_back(hash);
  } else if (b2_.contains(hash)) {
    // Evicted from T2 and wanted again: frequency deserved more room.
    const int64_t delta = std::max<int64_t>(1, int64_t(b1_.size()) / int64_t(b2_.size()));
    p_ = std::max<int64_t>(0, p_ - delta);
    b2_.erase(hash);
    t2_.push_back(hash);
  } else {
    t1_.push_back(hash);
  }
  trim_ghosts();
}

void ArcPolicy::touch(uint64_t hash) {
  if (t1_.erase(hash)) {
    t2_.push_back(hash);
  } else if (t2_.contains(hash)) {
    t2_.push_back(hash);
  }
}

void ArcPolicy::requeue(uint64_t hash) {
  if (t1_.contains(hash)) {
    t1_.push_back(hash);
  } else if (t2_.contains(hash)) {
    t2_.push_back(hash);
  }
}

void ArcPolicy::erase(uint64_t hash) {
  if (!t1_.erase(hash)) t2_.erase(hash);
}

std::optional<uint64_t> ArcPolicy::evict(const std::function<bool(uint64_t)>& can_evict) {
  const bool t1_first = !t1_.empty() && (int64_t(t1_.size()) > p_ || t2_.empty());
  std::optional<uint64_t> victim =
      t1_first ? evict_from(t1_, b1_, can_evict) : evict_from(t2_, b2_, can_evict);
  // The preferred list may hold only blocks in flight: fall back to the other one.
  if (!victim)
    victim = t1_first ? evict_from(t2_, b2_, can_evict) : evict_from(t1_, b1_, can_evict);
  if (victim) trim_ghosts();
  return victim;
}

std::optional<uint64_t> ArcPolicy::evict_from(HashList& list, HashList& ghosts,
                                              const std::function<bool(uint64_t)>& can_evict) {
  for (uint64_t hash : list) {
    if (can_evict(hash)) {
      list.erase(hash);
      ghosts.push_back(hash);
      return hash;
    }
  }
  return std::nullopt;
}

void ArcPolicy::trim_ghosts() {
  // ARC's directory bounds: |T1| + |B1| <= c and |T1| + |T2| + |B1| + |B2| <= 2c.
  while (!b1_.empty() && int64_t(t1_.size() + b1_.size()) > capacity_) b1_.pop_front();
  while (int64_t(t1_.size() + t2_.size() + b1_.size() + b2_.size()) > 2 * capacity_) {
    if (!b2_.empty()) {
      b2_.pop_front();
    } else if (!b1_.empty()) {
      b1_.pop_front();
    } else {
      break;
    }
  }
}

}  // namespace kvtier::kv
