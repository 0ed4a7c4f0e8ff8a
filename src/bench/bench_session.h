#pragma once
// `kvtier bench` from start to end: check the server, pick the model and tokenizer, run each
// benchmark of the profile with freshly generated data, and collect the results.
#include <functional>
#include <string>

#include "bench/bench_config.h"
#include "bench/bench_report.h"
#include "bench/interrupt.h"
#include "bench/token_codec.h"

namespace kvtier::bench {

struct ServerInfo {
  std::string model;       // the model requests name
  std::string model_root;  // /v1/models' "root" (vLLM: the folder it was loaded from), if any
};

// GET /health (falling back to /v1/models) and the model list. An unreachable or unhealthy
// server is kUnavailable naming the URL, before any benchmark starts.
Expected<ServerInfo> probe_server(const BenchConfig& config);

// The tokenizer folder: --processor, else the served model's folder when it holds
// tokenizer.json, else the bundled Qwen3 tokenizer.
std::filesystem::path choose_processor(const BenchConfig& config, const ServerInfo& server);

struct ProcessorChoice {
  std::filesystem::path dir;
  std::string source;  // why this one: "--processor", "the served model's folder", ...
};
ProcessorChoice choose_processor_with_source(const BenchConfig& config, const ServerInfo& server);

struct SessionHooks {
  // Called before each benchmark starts: (index, planned count, strategy).
  std::function<void(size_t, size_t, const Strategy&)> on_start;
  // Called once the tokenizer that cuts prompts is loaded, before the first benchmark.
  std::function<void(const ProcessorChoice&)> on_tokenizer;
  std::function<void(size_t, size_t, const Strategy&, const ProgressSnapshot&)> on_progress;
  // Called each time the report gains a finished benchmark or ends (finished, interrupted, or
  // failed after some benchmark finished), with the report as it stands: `kvtier bench` rewrites
  // its outputs here. An error stops the run (the disk is full: better now than in an hour).
  std::function<Status(const BenchReport&)> on_report;
  // Nonzero (a signal's number) stops the run: the running benchmark is cut (its requests in
  // flight cancelled) and kept apart as BenchReport::interrupted. May be null.
  const InterruptFlag* interrupt = nullptr;
};

// Returns the report also when interrupted (state kInterrupted); an error otherwise stops the
// run, after on_report() saw the finished benchmarks with state kFailed.
Expected<BenchReport> run_bench(const BenchConfig& config, const SessionHooks& hooks);
// The same with a tokenizer already loaded (tests, repeated runs).
Expected<BenchReport> run_bench(const BenchConfig& config, const ServerInfo& server,
                                std::shared_ptr<const TokenCodec> codec,
                                const std::string& processor, const SessionHooks& hooks);

}  // namespace kvtier::bench
