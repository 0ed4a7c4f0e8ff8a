// `kvtier bench`: the GuideLLM-compatible load generator (`guidellm benchmark run` flags).
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "bench/bench_cli.h"
#include "bench/bench_session.h"
#include "bench/console_output.h"
#include "cli/command.h"

namespace kvtier::cli {
namespace {

std::function<int()> setup_bench(CLI::App& app) {
  auto raw = std::make_shared<bench::RawBenchArgs>();
  auto verb = std::make_shared<std::string>();
  // `kvtier bench run ...` reads like `guidellm benchmark run ...`; the word is optional.
  app.add_option("verb", *verb, "Optional: run")->check(CLI::IsMember({"run"}));
  bench::add_bench_options(app, *raw);
  return [raw, verb]() -> int {
    auto config = bench::make_bench_config(*raw);
    if (!config) {
      fmt::print(stderr, "kvtier bench: {}\n", config.error().to_string());
      return 2;
    }
    auto progress = std::make_shared<bench::ProgressLine>(config->progress);
    const bool console = config->console;
    bench::SessionHooks hooks;
    hooks.on_start = [&, console](size_t index, size_t planned, const bench::Strategy& s) {
      progress->finish();
      if (console) fmt::print("Benchmark {}/{}: {}\n", index + 1, planned, s.label());
      std::fflush(stdout);
    };
    const auto max_seconds = config->max_seconds;
    hooks.on_progress = [progress, max_seconds](size_t index, size_t planned,
                                                const bench::Strategy& s,
                                                const bench::ProgressSnapshot& snap) {
      progress->update(index, planned, s.label(), max_seconds, snap);
    };
    auto report = bench::run_bench(*config, hooks);
    progress->finish();
    if (!report) {
      fmt::print(stderr, "kvtier bench: {}\n", report.error().to_string());
      return 1;
    }
    if (console) fmt::print("\n{}", bench::format_summary_tables(*report));
    if (auto written = bench::write_outputs(*report); !written) {
      fmt::print(stderr, "kvtier bench: {}\n", written.to_string());
      return 1;
    }
    if (console) {
      for (const auto& o : config->outputs) fmt::print("Wrote {}\n", o.path.string());
    }
    return 0;
  };
}

}  // namespace

KVTIER_COMMAND("bench", "Load generator with `guidellm benchmark run` flags and outputs",
               setup_bench);

}  // namespace kvtier::cli
