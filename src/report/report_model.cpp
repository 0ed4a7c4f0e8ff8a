#include "report/report_model.h"

#include <cmath>

namespace kvtier::report {

const std::array<MetricSpec, kMetricCount>& metric_specs() {
  static const std::array<MetricSpec, kMetricCount> kSpecs = {{
      {Metric::kOutputTokensPerSecond, "Token Throughput Comparison (output tokens/sec)",
       "output tok/s", "tok/s", true, 1, true,
       [](const LevelResult& r) { return r.output_tokens_per_second; }},
      {Metric::kRequestsPerSecond, "Throughput Comparison (requests/sec)", "req/s", "req/s", true,
       1, true, [](const LevelResult& r) { return r.requests_per_second; }},
      {Metric::kTtftP50, "Time to First Token (TTFT) - Median (milliseconds)", "median TTFT", "ms",
       false, 1, true, [](const LevelResult& r) { return r.ttft_median_ms; }},
      {Metric::kTtftP99, "Time to First Token (TTFT) - p99 (milliseconds)", "p99 TTFT", "ms", false,
       1, true, [](const LevelResult& r) { return r.ttft_p99_ms; }},
      {Metric::kItlP50, "Inter-Token Latency (ITL) - Median (milliseconds)", "median ITL", "ms",
       false, 1, true, [](const LevelResult& r) { return r.itl_median_ms; }},
      {Metric::kItlP99, "Inter-Token Latency (ITL) - p99 (milliseconds)", "p99 ITL", "ms", false, 1,
       true, [](const LevelResult& r) { return r.itl_p99_ms; }},
      {Metric::kLatencyP50, "Latency Comparison - Median (seconds)", "median latency", "s", false,
       2, true, [](const LevelResult& r) { return r.latency_median_s; }},
      {Metric::kErrored, "Errored Requests (count)", "errored requests", "requests", false, 1, true,
       [](const LevelResult& r) {
         return r.errored < 0 ? kMissing : static_cast<double>(r.errored);
       }},
      {Metric::kIncomplete, "Incomplete Requests (count, cut at the deadline)",
       "incomplete requests", "requests", false, 1, true,
       [](const LevelResult& r) {
         return r.incomplete < 0 ? kMissing : static_cast<double>(r.incomplete);
       }},
      {Metric::kLatencyMean, "Avg Latency (s)", "mean latency", "s", false, 2, false,
       [](const LevelResult& r) { return r.latency_mean_s; }},
      {Metric::kTtftMean, "Avg TTFT (ms)", "mean TTFT", "ms", false, 1, false,
       [](const LevelResult& r) { return r.ttft_mean_ms; }},
      {Metric::kItlMean, "Avg ITL (ms)", "mean ITL", "ms", false, 1, false,
       [](const LevelResult& r) { return r.itl_mean_ms; }},
  }};
  return kSpecs;
}

const MetricSpec& spec(Metric m) {
  return metric_specs()[static_cast<size_t>(m)];
}

const LevelStats* Arm::at(double level) const {
  for (const auto& l : levels) {
    if (l.level == level) return &l;
  }
  return nullptr;
}

std::string Group::title() const {
  if (model.empty() && workload.empty()) return "";
  return model + " / " + workload;
}

}  // namespace kvtier::report
