#pragma once
// vLLM's --scheduling-policy: the order of the waiting queue and whom a full KV cache preempts.
#include <optional>
#include <string_view>

namespace kvtier::engine {

enum class SchedulingPolicy {
  kFcfs,      // arrival order; a full cache preempts the newest running request
  kPriority,  // (priority, arrival), lower first; a full cache preempts the largest running one
};

inline std::optional<SchedulingPolicy> parse_scheduling_policy(std::string_view name) {
  if (name == "fcfs") return SchedulingPolicy::kFcfs;
  if (name == "priority") return SchedulingPolicy::kPriority;
  return std::nullopt;
}

}  // namespace kvtier::engine
