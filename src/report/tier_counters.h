#pragma once
// The KV-cache tier counters of a cell (cell.json's metrics_delta: the engines' /metrics after the
// bench minus before, summed over engines) and their per-arm summary: "why it paid or did not".
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/status.h"
#include "report/estimate.h"

namespace kvtier::report {

struct MetricsDelta {
  double prompt_tokens = 0, generation_tokens = 0;
  double prefix_cache_queries = 0, prefix_cache_hits = 0;  // GPU prefix cache, tokens
  double external_prefix_cache_queries = 0, external_prefix_cache_hits = 0;  // CPU tier, tokens
  double num_preemptions = 0;
  double bytes_to_cpu = 0, bytes_to_gpu = 0;      // kv_offload_bytes GPU_to_CPU / CPU_to_GPU
  double seconds_to_cpu = 0, seconds_to_gpu = 0;  // kv_offload_seconds, time spent copying
};

// `where` names the cell.json in errors. Absent keys count as 0 (an engine without a CPU tier
// exports no offload counters).
Expected<MetricsDelta> parse_metrics_delta(const nlohmann::json& j, const std::string& where);

// Per arm, mean +- SE over the cells that recorded counters. Shares of the prompt tokens looked
// up in the GPU prefix cache: hit there, hit in the CPU tier, computed (the rest).
struct TierCounters {
  Estimate gpu_hit_percent, cpu_hit_percent, computed_percent;
  Estimate preemptions;
  Estimate gb_to_cpu, gb_to_gpu;      // 1e9 bytes
  Estimate gbps_to_cpu, gbps_to_gpu;  // bytes / copy seconds; kMissing when nothing moved
  int cells = 0;
};
std::optional<TierCounters> summarize_tiers(const std::vector<MetricsDelta>& deltas);

}  // namespace kvtier::report
