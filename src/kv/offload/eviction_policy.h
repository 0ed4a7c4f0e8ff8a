#pragma once
// Which resident block of the offload tier goes when a store needs room. The tier tells the
// policy about every block that becomes resident (insert, before it picks a victim to make room,
// so ARC adapts to a returning block first), is used again (touch), should only change its place
// in recency order (requeue) or is dropped (erase), and asks it for a victim among the blocks it
// may evict (evict). Recency follows the order of these calls alone, so a policy is
// deterministic for a given call sequence.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace kvtier::kv {

enum class EvictionPolicyKind { kLru, kArc };

// "lru" or "arc" (vLLM's eviction_policy values); nullopt for anything else.
std::optional<EvictionPolicyKind> parse_eviction_policy(std::string_view name);
const char* eviction_policy_name(EvictionPolicyKind kind);

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;

  // `hash` became resident (it must not be resident already).
  virtual void insert(uint64_t hash) = 0;
  // A resident `hash` was used again; ignored when not resident.
  virtual void touch(uint64_t hash) = 0;
  // A resident `hash` becomes the most recent of its kind without counting as a use (ARC keeps
  // it in its list); ignored when not resident.
  virtual void requeue(uint64_t hash) = 0;
  // A resident `hash` leaves without being evicted (no ghost entry); ignored when not resident.
  virtual void erase(uint64_t hash) = 0;
  // Picks the next victim among resident hashes that `can_evict` accepts, removes it and returns
  // it; nullopt when every resident hash is refused.
  virtual std::optional<uint64_t> evict(const std::function<bool(uint64_t)>& can_evict) = 0;

  virtual bool contains(uint64_t hash) const = 0;
  virtual size_t size() const = 0;
};

// `capacity` is the tier's block count (ARC sizes its ghost lists and target from it).
std::unique_ptr<EvictionPolicy> make_eviction_policy(EvictionPolicyKind kind, int32_t capacity);

}  // namespace kvtier::kv
