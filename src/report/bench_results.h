#pragma once
// The per-benchmark numbers a comparison needs, read from a GuideLLM benchmarks.json (written by
// `kvtier bench` or by GuideLLM itself). Per-request records are skipped while parsing, so
// files of hundreds of MB load in little memory.
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "common/status.h"
#include "report/run_identity.h"

namespace kvtier::report {

inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

struct LevelResult {
  double level = 0;                // concurrency (streams) or rate; what benchmarks are matched on
  std::string strategy;            // "concurrent", "constant", ...
  double requests_per_second = 0;  // requests_per_second.successful.mean
  double output_tokens_per_second = 0;  // output_tokens_per_second.total.mean
  double latency_mean_s = 0, latency_median_s = 0;
  double ttft_mean_ms = 0, ttft_median_ms = 0;
  double itl_mean_ms = 0, itl_median_ms = 0;
  // successful.percentiles.p99; kMissing when the file has no percentiles.
  double latency_p99_s = kMissing, ttft_p99_ms = kMissing, itl_p99_ms = kMissing;
  int64_t successful = -1, incomplete = -1, errored = -1;  // request_totals; -1: not in the file
  double start_time = kMissing, end_time = kMissing;       // unix seconds, when recorded
};

struct BenchResults {
  std::filesystem::path path;
  std::vector<LevelResult> levels;  // in file order
  RunIdentity identity;             // what must match for two runs to be compared
};

// Errors name the file and the benchmark or field that is wrong.
Expected<BenchResults> load_bench_results(const std::filesystem::path& path);
Expected<BenchResults> parse_bench_results(const std::string& text, const std::string& name);

}  // namespace kvtier::report
