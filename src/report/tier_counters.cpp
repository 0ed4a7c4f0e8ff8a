#include "report/tier_counters.h"

#include <fmt/format.h>

#include <algorithm>

namespace kvtier::report {
namespace {

using Json = nlohmann::json;

Status read(const Json& j, const char* key, double& out, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return Status::ok();
  if (!j[key].is_number()) {
    return data_loss("{}: metrics_delta.{}: not a number ({})", where, key, j[key].dump());
  }
  out = j[key].get<double>();
  return Status::ok();
}

Status read_pair(const Json& j, const char* key, double& to_cpu, double& to_gpu,
                 const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return Status::ok();
  if (!j[key].is_object()) {
    return data_loss("{}: metrics_delta.{}: not an object ({})", where, key, j[key].dump());
  }
  KVTIER_RETURN_IF_ERROR(read(j[key], "GPU_to_CPU", to_cpu, where + " " + key));
  return read(j[key], "CPU_to_GPU", to_gpu, where + " " + key);
}

}  // namespace

Expected<MetricsDelta> parse_metrics_delta(const Json& j, const std::string& where) {
  if (!j.is_object()) return data_loss("{}: metrics_delta: not an object", where);
  MetricsDelta d;
  struct Field {
    const char* key;
    double MetricsDelta::*out;
  };
  static constexpr Field kFields[] = {
      {"prompt_tokens", &MetricsDelta::prompt_tokens},
      {"generation_tokens", &MetricsDelta::generation_tokens},
      {"prefix_cache_queries", &MetricsDelta::prefix_cache_queries},
      {"prefix_cache_hits", &MetricsDelta::prefix_cache_hits},
      {"external_prefix_cache_queries", &MetricsDelta::external_prefix_cache_queries},
      {"external_prefix_cache_hits", &MetricsDelta::external_prefix_cache_hits},
      {"num_preemptions", &MetricsDelta::num_preemptions},
  };
  for (const auto& f : kFields) KVTIER_RETURN_IF_ERROR(read(j, f.key, d.*f.out, where));
  KVTIER_RETURN_IF_ERROR(read_pair(j, "kv_offload_bytes", d.bytes_to_cpu, d.bytes_to_gpu, where));
  KVTIER_RETURN_IF_ERROR(
      read_pair(j, "kv_offload_seconds", d.seconds_to_cpu, d.seconds_to_gpu, where));
  return d;
}

std::optional<TierCounters> summarize_tiers(const std::vector<MetricsDelta>& deltas) {
  if (deltas.empty()) return std::nullopt;
  std::vector<double> gpu, cpu, computed, preempt, to_cpu, to_gpu, rate_cpu, rate_gpu;
  for (const auto& d : deltas) {
    if (d.prefix_cache_queries > 0) {
      const double g = 100.0 * d.prefix_cache_hits / d.prefix_cache_queries;
      const double c = 100.0 * d.external_prefix_cache_hits / d.prefix_cache_queries;
      gpu.push_back(g);
      cpu.push_back(c);
      computed.push_back(std::max(0.0, 100.0 - g - c));
    }
    preempt.push_back(d.num_preemptions);
    to_cpu.push_back(d.bytes_to_cpu / 1e9);
    to_gpu.push_back(d.bytes_to_gpu / 1e9);
    rate_cpu.push_back(d.seconds_to_cpu > 0 ? d.bytes_to_cpu / d.seconds_to_cpu / 1e9 : kMissing);
    rate_gpu.push_back(d.seconds_to_gpu > 0 ? d.bytes_to_gpu / d.seconds_to_gpu / 1e9 : kMissing);
  }
  TierCounters t;
  t.gpu_hit_percent = estimate(gpu);
  t.cpu_hit_percent = estimate(cpu);
  t.computed_percent = estimate(computed);
  t.preemptions = estimate(preempt);
  t.gb_to_cpu = estimate(to_cpu);
  t.gb_to_gpu = estimate(to_gpu);
  t.gbps_to_cpu = estimate(rate_cpu);
  t.gbps_to_gpu = estimate(rate_gpu);
  t.cells = static_cast<int>(deltas.size());
  return t;
}

}  // namespace kvtier::report
