// `kvtier report BASELINE.json CANDIDATE.json`: the seed report's comparison tables and charts.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "report/markdown.h"
#include "report/report_files.h"

namespace kvtier::cli {
namespace {

struct ReportArgs {
  std::string baseline;
  std::string candidate;
  std::string names = "baseline,candidate";
  std::string out;
};

std::function<int()> setup_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  app.add_option("baseline", args->baseline, "benchmarks.json of the baseline run")->required();
  app.add_option("candidate", args->candidate, "benchmarks.json of the candidate run")->required();
  app.add_option("--names", args->names, "Names of the two runs, e.g. no-offload,native-offload")
      ->capture_default_str();
  app.add_option("--out", args->out, "Folder for report.md and report.html");
  return [args]() -> int {
    const size_t comma = args->names.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == args->names.size() ||
        args->names.find(',', comma + 1) != std::string::npos) {
      fmt::print(stderr, "kvtier report: --names '{}': give two names separated by a comma\n",
                 args->names);
      return 2;
    }
    auto comparison =
        report::compare_files(args->baseline, args->candidate, args->names.substr(0, comma),
                              args->names.substr(comma + 1));
    if (!comparison) {
      fmt::print(stderr, "kvtier report: {}\n", comparison.error().to_string());
      return 1;
    }
    fmt::print("{}", report::render_markdown(*comparison));
    if (!args->out.empty()) {
      if (auto written = report::write_report_files(*comparison, args->out); !written) {
        fmt::print(stderr, "kvtier report: {}\n", written.to_string());
        return 1;
      }
      fmt::print("Wrote {0}/report.md and {0}/report.html\n", args->out);
    }
    return 0;
  };
}

}  // namespace

KVTIER_COMMAND("report", "Compare two `kvtier bench` / GuideLLM results (tables and charts)",
               setup_report);

}  // namespace kvtier::cli
