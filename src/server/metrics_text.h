#pragma once
// GET /metrics: the Prometheus text exposition format (version 0.0.4) with vLLM's metric names,
// labels {model_name, engine="0"} and bucket boundaries, plus kvtier's own gauges for the CPU tier.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "engine/engine_client.h"
#include "server/request_metrics.h"

namespace kvtier::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes metric families: HELP and TYPE once per family, then its samples.
class PrometheusWriter {
 public:
  void family(const std::string& name, const char* type, const std::string& help);
  void sample(const std::string& name, const Labels& labels, double value);
  // name_bucket{le=...} (cumulative), name_count, name_sum.
  void histogram(const std::string& name, const Labels& labels, const HistogramSnapshot& h);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Python's repr of a float as prometheus_client prints it: 1.0, 0.25, +Inf, NaN.
std::string prometheus_number(double value);
std::string escape_label_value(const std::string& value);

struct MetricsContext {
  std::string model_name;
  engine::EngineInfo info;
  engine::EngineStats stats;
  RequestMetrics::Snapshot requests;
  // Labels of vllm:cache_config_info besides "engine" (values as Python prints them).
  Labels cache_config;
  int64_t requests_in_flight = 0;  // accepted by the HTTP layer, not yet answered
  int64_t http_connections = 0;
};

std::string render_metrics(const MetricsContext& context);

}  // namespace kvtier::server
