#pragma once
// GuideLLM's distribution summaries: weighted values become a probability mass function, from
// which mean, median, mode, variance, min/max and percentiles are read. Rates and concurrency
// are distributions over time (each value weighted by how long it held).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

namespace kvtier::bench {

struct Percentiles {
  double p001 = 0, p01 = 0, p05 = 0, p10 = 0, p25 = 0, p50 = 0, p75 = 0, p90 = 0, p95 = 0, p99 = 0,
         p999 = 0;
};

struct DistributionSummary {
  double mean = 0, median = 0, mode = 0, variance = 0, std_dev = 0, min = 0, max = 0;
  int64_t count = 0;
  double total_sum = 0;
  Percentiles percentiles;
};

// (value, weight) pairs.
using WeightedValues = std::vector<std::pair<double, double>>;

// Duplicated values are combined, zero weights dropped; a percentile is the smallest value whose
// cumulative probability reaches it. count defaults to the rounded sum of weights.
DistributionSummary summarize_values(WeightedValues values,
                                     std::optional<int64_t> count = std::nullopt);
DistributionSummary summarize_values(const std::vector<double>& values);

// Events (time, occurrences): each event's rate is its occurrences over the half-way span to its
// neighbours; rates are weighted by those spans. With a window, events outside it are dropped
// and its edges become zero-weight events. Events closer than `threshold` seconds merge.
DistributionSummary rate_distribution(WeightedValues events,
                                      std::optional<double> start_time = std::nullopt,
                                      std::optional<double> end_time = std::nullopt,
                                      double threshold = 1e-4);

struct Interval {
  double start = 0;
  double end = 0;
  double weight = 1;
};
// How many intervals are open at each moment, weighted by how long that level held.
DistributionSummary concurrency_distribution(std::vector<Interval> intervals,
                                             std::optional<double> start_time = std::nullopt,
                                             std::optional<double> end_time = std::nullopt,
                                             double threshold = 1e-4);

// A metric split by request status, as GuideLLM stores it.
struct StatusDistribution {
  DistributionSummary successful, incomplete, errored, total;
};

nlohmann::json to_json(const Percentiles& p);
nlohmann::json to_json(const DistributionSummary& d);
nlohmann::json to_json(const StatusDistribution& d);

}  // namespace kvtier::bench
