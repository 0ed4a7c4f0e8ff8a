#pragma once
// The results of one `kvtier bench`: every benchmark with its window and metrics, written as
// GuideLLM's benchmarks.json (metadata, args, benchmarks[]) and as CSV.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
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

struct BenchReport {
  BenchConfig config;
  std::string run_id;
  std::string model;
  std::string processor;   // the tokenizer folder used for prompts
  nlohmann::json profile;  // the profile with its completed strategies
  std::vector<BenchmarkResult> benchmarks;
};

// Compiles a finished run into a result (window from --warmup/--cooldown, metrics).
BenchmarkResult make_result(int64_t index, BenchmarkRun run, const BenchConfig& config);

nlohmann::json request_to_json(const RequestRecord& r);
// Streams the whole file: requests are written one by one, so large runs need no large DOM.
void write_benchmarks_json(const BenchReport& report, std::ostream& out);
void write_benchmarks_csv(const BenchReport& report, std::ostream& out);
// Writes every --outputs file (creating folders); errors name the file.
Status write_outputs(const BenchReport& report);

}  // namespace kvtier::bench
