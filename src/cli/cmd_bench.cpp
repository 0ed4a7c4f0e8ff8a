// `kvtier bench`: the GuideLLM-compatible load generator (`guidellm benchmark run` flags).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "bench/atomic_file.h"
#include "bench/bench_cli.h"
#include "bench/bench_session.h"
#include "bench/console_output.h"
#include "bench/interrupt.h"
#include "cli/command.h"
#include "common/yaml_json.h"
#include "report/html_page.h"
#include "report/report_files.h"

namespace kvtier::cli {
namespace {

// --data given as a YAML file (.yaml, .yml, .config, as GuideLLM accepts) is read here, where
// the YAML parser is linked; JSON files and inline values are the bench module's.
Status read_yaml_data(bench::RawBenchArgs& raw) {
  if (raw.data.size() != 1) return Status::ok();
  const std::filesystem::path path(raw.data[0]);
  const std::string ext = path.extension().string();
  if (ext != ".yaml" && ext != ".yml" && ext != ".config") return Status::ok();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return invalid_argument("--data {}: no such file", raw.data[0]);
  }
  try {
    raw.data_json = yaml_to_json<nlohmann::json>(YAML::LoadFile(path.string()));
  } catch (const YAML::Exception& e) {
    return invalid_argument("--data {}: not valid YAML: {}", raw.data[0], e.what());
  }
  return Status::ok();
}

// The page `kvtier report` writes, for this one run (a single arm, named after the model).
Status write_html_report(const std::filesystem::path& json, const std::filesystem::path& html,
                         const std::string& arm) {
  std::vector<report::FileArm> arms(1);
  arms[0].name = arm.empty() ? "run" : arm;
  arms[0].files = {json};
  auto r = report::report_from_files(arms, report::ReportOptions{});
  if (!r) return r.error();
  r->title = fmt::format("kvtier bench: {}", arms[0].name);  // one run, no baseline to name
  const std::string page = report::render_html(*r);
  return bench::write_file_atomically(html, [&](std::ostream& out) { out << page; });
}

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
    if (Status read = read_yaml_data(*raw); !read) {
      fmt::print(stderr, "kvtier bench: {}\n", read.to_string());
      return 2;
    }
    auto config = bench::make_bench_config(*raw);
    if (!config) {
      fmt::print(stderr, "kvtier bench: {}\n", config.error().to_string());
      return 2;
    }
    for (const auto& warning : config->warnings) {
      fmt::print(stderr, "kvtier bench: warning: {}\n", warning);
    }
    bench::SignalInterrupt signals;
    auto progress = std::make_shared<bench::ProgressLine>(config->progress);
    const bool console = config->console;
    bench::SessionHooks hooks;
    hooks.interrupt = &signals.flag();
    hooks.on_tokenizer = [console](const bench::ProcessorChoice& choice) {
      if (console) {
        fmt::print("Tokenizer for prompts: {} ({})\n", choice.dir.string(), choice.source);
      }
      std::fflush(stdout);
    };
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
      return bench::write_outputs(
          report, [&report](const std::filesystem::path& json, const std::filesystem::path& html) {
            return write_html_report(json, html, report.model);
          });
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
