#pragma once
// The results of one `kvtier bench`: every benchmark with its window and metrics, written as
// GuideLLM's benchmarks.json (metadata, args, benchmarks[]) and as CSV.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_config.h"
#include "bench/benchmark_runner.h"
#include "bench/metrics.h"

namespace kvtier::bench {

struct BenchmarkResult {
  int64_t index = 0;
  BenchmarkRun run;
  MeasureWindow window;
  BenchmarkMetrics metrics;
  // Client CPU milliseconds per finished request (all statuses).
  double client_cpu_ms_per_request() const;
};

// Where a run stands, as metadata.state says it: files are rewritten while it is "running".
enum class RunState { kRunning, kFinished, kInterrupted, kFailed };
std::string_view run_state_name(RunState state);

struct BenchReport {
  BenchConfig config;  // with the model and processor the run resolved
  std::string run_id;
  std::string model;
  std::string processor;                    // the tokenizer folder used for prompts
  nlohmann::json profile;                   // the profile with its completed strategies
  std::vector<BenchmarkResult> benchmarks;  // finished benchmarks only
  RunState state = RunState::kRunning;
  size_t planned = 0;      // benchmarks the profile plans (a sweep's count is known up front)
  int interrupted_by = 0;  // the signal, when state is kInterrupted
  std::string error;       // why, when state is kFailed
  // The benchmark a signal cut short: kept apart from `benchmarks` (its numbers cover only part
  // of a level) and written under metadata.interrupted_benchmark. GuideLLM would drop it.
  std::optional<BenchmarkResult> interrupted;
};

// Compiles a finished run into a result (window from --warmup/--cooldown, metrics).
BenchmarkResult make_result(int64_t index, BenchmarkRun run, const BenchConfig& config);

nlohmann::json request_to_json(const RequestRecord& r);
// Streams the whole file: requests are written one by one, so large runs need no large DOM.
void write_benchmarks_json(const BenchReport& report, std::ostream& out);
void write_benchmarks_csv(const BenchReport& report, std::ostream& out);
void write_benchmarks_yaml(const BenchReport& report, std::ostream& out);

// Renders the HTML page `html` from the benchmarks.json at `json`. The CLI supplies the report
// module's page (the one `kvtier report` writes); this module does not link it.
using HtmlWriter =
    std::function<Status(const std::filesystem::path& json, const std::filesystem::path& html)>;

// Writes every --outputs file (creating folders), each replaced atomically (atomic_file.h) so
// the file on disk is always a complete one; errors name the file. HTML pages are rendered by
// `html` after the JSON output (or from a hidden JSON file when the run writes none).
Status write_outputs(const BenchReport& report, const HtmlWriter& html = {});

}  // namespace kvtier::bench
