#pragma once
// Baseline versus candidate, the seed report's way: a summary of averages over the levels both
// runs share, and per level each metric's baseline, candidate, difference and % change.
#include <optional>
#include <string>
#include <vector>

#include "report/bench_results.h"

namespace kvtier::report {

struct MetricRow {
  double level = 0;
  double baseline = 0;
  double candidate = 0;
  double difference() const { return candidate - baseline; }
  // nullopt when the baseline is 0.
  std::optional<double> percent_change() const;
};

struct MetricTable {
  std::string key;    // "throughput", "output_tokens", "latency", "ttft", "itl"
  std::string title;  // "Throughput Comparison (requests/sec)"
  std::string unit;   // "req/s", "tok/s", "s", "ms"
  bool higher_is_better = false;
  int decimals = 1;
  std::vector<MetricRow> rows;
};

struct SummaryValue {
  std::string label;  // "Avg Throughput (req/s)"
  double baseline = 0;
  double candidate = 0;
  bool higher_is_better = false;
  int decimals = 1;
  std::optional<double> percent_change() const;
};

struct Comparison {
  std::string baseline_name, candidate_name;
  std::string level_name;             // "Concurrency" or "Rate (req/s)"
  std::vector<double> levels;         // shared by both runs, ascending
  std::vector<SummaryValue> summary;  // throughput, latency, TTFT, ITL
  std::vector<MetricTable> tables;    // throughput, output tok/s, latency, TTFT, ITL
  std::vector<std::string> notes;     // levels only one run has, duplicates
};

// Fails (naming both files) when the runs share no level.
Expected<Comparison> compare(const BenchResults& baseline, const BenchResults& candidate,
                             const std::string& baseline_name, const std::string& candidate_name);

}  // namespace kvtier::report
