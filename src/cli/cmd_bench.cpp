// `kvtier bench`: the GuideLLM-compatible load generator (`guidellm benchmark run` flags).
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "bench/bench_cli.h"
#include "bench/bench_session.h"
#include "bench/console_output.h"
#include "bench/interrupt.h"
#include "cli/command.h"

namespace kvtier::cli {
namespace {

constexpr const char* kOutputsHelp =
    "Outputs are rewritten (atomically: a temporary file, then a rename) each time a benchmark\n"
    "ends, so they always hold every finished benchmark; metadata.state says running, finished,\n"
    "interrupted or failed.\n"
    "Ctrl-C (SIGINT) or SIGTERM stops the run: no new requests, those in flight are cancelled\n"
    "(incomplete). The outputs keep the finished benchmarks in \"benchmarks\"; the benchmark that\n"
    "was cut is kept apart in the JSON as metadata.interrupted_benchmark (never in \"benchmarks\"\n"
    "or the CSV), with metadata.interrupted true. Exit status 130 (SIGINT) or 143 (SIGTERM). A\n"
    "second Ctrl-C exits at once, leaving the files as last written.";

std::function<int()> setup_bench(CLI::App& app) {
  auto raw = std::make_shared<bench::RawBenchArgs>();
  auto verb = std::make_shared<std::string>();
  // `kvtier bench run ...` reads like `guidellm benchmark run ...`; the word is optional.
  app.add_option("verb", *verb, "Optional: run")->check(CLI::IsMember({"run"}));
  bench::add_bench_options(app, *raw);
  app.footer(kOutputsHelp);
  return [raw, verb]() -> int {
    auto config = bench::make_bench_config(*raw);
    if (!config) {
      fmt::print(stderr, "kvtier bench: {}\n", config.error().to_string());
      return 2;
    }
    bench::SignalInterrupt signals;
    auto progress = std::make_shared<bench::ProgressLine>(config->progress);
    const bool console = config->console;
    bench::SessionHooks hooks;
    hooks.interrupt = &signals.flag();
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
    size_t printed = 0;  // finished benchmarks already given their console line
    hooks.on_report = [&, console](const bench::BenchReport& report) -> Status {
      progress->finish();
      // A terminal keeps each benchmark's last progress line; logs get a summary line instead.
      for (; printed < report.benchmarks.size(); ++printed) {
        if (console && !progress->active()) {
          fmt::print("{}", bench::format_benchmark_line(report, printed));
        }
      }
      std::fflush(stdout);
      return bench::write_outputs(report);
    };
    auto report = bench::run_bench(*config, hooks);
    progress->finish();
    if (!report) {
      fmt::print(stderr, "kvtier bench: {}\n", report.error().to_string());
      // A signal during the server check ends the run like one during a benchmark.
      if (const int sig = signals.flag().load()) return 128 + sig;
      return 1;
    }
    if (console && !report->benchmarks.empty()) {
      fmt::print("\n{}", bench::format_summary_tables(*report));
    }
    if (report->state == bench::RunState::kInterrupted) {
      std::fflush(stdout);
      fmt::print(stderr, "{}", bench::format_interrupted_line(*report));
      return 128 + report->interrupted_by;
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
