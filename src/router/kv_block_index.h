#pragma once
// Where each endpoint holds which KV blocks, per storage tier ("gpu", "cpu", ...), as its KV
// events report them; plus short-lived speculative entries for requests just routed there
// (before their BlockStored events can arrive). The ZMQ subscriber thread writes, connection
// threads read: a shared mutex guards everything.
#include <chrono>
#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "router/kv_event_decoder.h"

namespace kvtier::router {

struct TierWeight {
  std::string name;  // matched case-insensitively against an event's medium
  double weight = 1.0;
};

class KvBlockIndex {
 public:
  using Clock = std::chrono::steady_clock;

  // At most 8 tiers. max_keys_per_endpoint bounds memory if an engine never sends removals.
  KvBlockIndex(size_t num_endpoints, std::vector<TierWeight> tiers, size_t max_keys_per_endpoint);

  void apply(size_t endpoint, const KvEvent& event);
  void clear(size_t endpoint);
  // Speculative entries count as the first tier until `expires`.
  void add_speculative(size_t endpoint, std::span<const uint64_t> keys, Clock::time_point expires);

  // The weighted length of the leading run of `keys` the endpoint holds: each block counts the
  // largest weight among the tiers holding it; the run ends at the first block held nowhere.
  double weighted_prefix(size_t endpoint, std::span<const uint64_t> keys,
                         Clock::time_point now = Clock::now()) const;
  // Blocks held in `tier` (by name) at `endpoint`.
  size_t count(size_t endpoint, std::string_view tier) const;
  const std::vector<TierWeight>& tiers() const { return tiers_; }
  uint64_t ignored_events() const;

 private:
  int tier_of(std::string_view medium) const;
  void purge_speculative_locked(Clock::time_point now);

  std::vector<TierWeight> tiers_;
  size_t max_keys_;
  mutable std::shared_mutex mu_;
  std::vector<std::unordered_map<uint64_t, uint8_t>> blocks_;  // key -> bit mask of tiers
  std::vector<std::unordered_map<uint64_t, Clock::time_point>> speculative_;
  struct Expiry {
    Clock::time_point at;
    size_t endpoint;
    uint64_t key;
  };
  std::deque<Expiry> expiries_;  // in insertion order, which is expiry order (fixed TTL)
  uint64_t ignored_events_ = 0;  // unknown mediums, full index
};

}  // namespace kvtier::router
