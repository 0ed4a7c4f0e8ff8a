#pragma once
// What a report shows, whichever way its runs were gathered (an eval folder, or plain
// benchmarks.json files): groups of one model x one workload, each with arms (arms[0] is the
// baseline), each arm with its repeats. build_report() (analysis.h) fills the statistics.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "monitor/archive_summary.h"
#include "report/bench_results.h"
#include "report/estimate.h"
#include "report/tier_counters.h"

namespace kvtier::report {

enum class Metric {
  kOutputTokensPerSecond,
  kRequestsPerSecond,
  kTtftP50,
  kTtftP99,
  kItlP50,
  kItlP99,
  kLatencyP50,
  kErrored,
  kIncomplete,
  // Only in the Performance Summary (the seed's averages of mean latency, TTFT and ITL).
  kLatencyMean,
  kTtftMean,
  kItlMean,
};
inline constexpr size_t kMetricCount = 12;

struct MetricSpec {
  Metric id;
  const char* title;  // the seed's table title
  const char* name;   // in verdict sentences: "output tok/s", "median TTFT"
  const char* unit;
  bool higher_is_better;
  int decimals;
  bool in_tables;  // a per-level table and charts (the three means are summary-only)
  double (*value)(const LevelResult&);
};
const std::array<MetricSpec, kMetricCount>& metric_specs();
const MetricSpec& spec(Metric m);

// One cell's readings over one level's window, from `kvtier monitor`'s PCP archive (monitor.*
// in the cell's folder, see system_readings.h); a reading the archive lacks stays empty.
using SystemReading = monitor::WindowSummary;

// System metrics of one arm at one level: mean +- SE over the repeats whose archive covers the
// level (GPU fields over those with GPU metrics). Empty where no repeat has an archive.
struct SystemMetrics {
  std::optional<Estimate> cpu_busy_percent;
  std::optional<Estimate> mem_used_bytes;
  std::optional<Estimate> gpu_util_percent;
  std::optional<Estimate> gpu_mem_used_bytes;
  std::optional<Estimate> pcie_tx_bytes_per_s;  // device -> host
  std::optional<Estimate> pcie_rx_bytes_per_s;  // host -> device
  int archives = 0;                             // repeats that had a reading at this level
};

// One arm at one level, over its repeats.
struct LevelStats {
  double level = 0;
  int repeats = 0;
  std::array<Estimate, kMetricCount> metrics;
  SystemMetrics system;  // empty without monitor archives
  const Estimate& operator[](Metric m) const { return metrics[static_cast<size_t>(m)]; }
};

// One repeat of an arm: a benchmarks.json (and, from an eval folder, its cell).
struct RunInput {
  std::string name;  // cell id "model/workload/arm/r2", or the file's path
  int repeat = 1;
  BenchResults results;
  std::optional<MetricsDelta> metrics_delta;
  // One per results.levels entry when the cell has a monitor archive (nullopt where the archive
  // does not cover that level); empty without an archive.
  std::vector<std::optional<SystemReading>> system;
};

struct Arm {
  std::string name;                    // "native-offload" or "native-offload@num_cpu_blocks=1000"
  std::string config;                  // the part before '@'
  std::string sweep_key, sweep_value;  // empty unless the arm sweeps a flag
  std::vector<RunInput> runs;
  std::vector<std::string> failures;  // "cell id: why" for cells without usable results

  // Filled by build_report().
  std::vector<LevelStats> levels;  // ascending level
  std::optional<TierCounters> tiers;
  const LevelStats* at(double level) const;
};

// One metric of one arm against the baseline at one level.
struct MetricChange {
  Change change;
  Effect effect = Effect::kUnknown;
};

struct ArmComparison {
  size_t arm = 0;  // index into Group::arms
  // [level index][metric]
  std::vector<std::array<MetricChange, kMetricCount>> levels;
};

struct VerdictLine {
  std::string text;
  Effect effect = Effect::kUnknown;  // kGain / kLoss colour the line; anything else does not
};

struct Group {
  std::string model, workload;  // empty for plain files
  std::vector<Arm> arms;        // arms[0] is the baseline

  // Filled by build_report().
  RunIdentity identity;                    // the baseline's first run: profile, data, model
  std::string level_name;                  // "Concurrency", "Rate (req/s)" or "Level"
  std::vector<double> levels;              // every level any arm has, ascending
  std::vector<ArmComparison> comparisons;  // one per non-baseline arm
  std::vector<VerdictLine> verdict;
  std::vector<std::string> notes;
  bool single_run = false;    // some arm has fewer than two repeats at some level
  std::string title() const;  // "Qwen3-0.6B / seed" or ""
};

// The "Test Configuration" section.
struct ArmSetup {
  std::string arm;
  std::vector<std::string> server_commands;  // shell-quoted
  std::string router_command, bench_command, device;
};
struct TestConfiguration {
  std::string experiment_name, created_at, run_dates, kvtier_version;
  std::string experiment_yaml;  // verbatim, "" when absent
  std::vector<ArmSetup> arms;
  std::vector<std::string> hardware;  // one line each
};

struct Report {
  std::string title;
  // Shown at the top: forced comparisons of mismatched runs, and cells whose monitor archive
  // could not be read (their system metrics are left out).
  std::vector<std::string> warnings;
  std::vector<Group> groups;
  TestConfiguration config;
};

}  // namespace kvtier::report
