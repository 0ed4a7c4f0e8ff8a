// `kvtier report`: a verdict (mean ± SE over repeats, effects beyond 2 SE), the seed report's
// comparison tables and charts, tier counters and the Test Configuration, from an eval folder or
// from plain `kvtier bench` / GuideLLM results files.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "report/markdown.h"
#include "report/report_files.h"

namespace kvtier::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> baseline, candidate;
  std::string names = "baseline,candidate";
  std::string out;
  bool force = false;
};

Expected<std::pair<std::string, std::string>> split_names(const std::string& names) {
  const size_t comma = names.find(',');
  if (comma == std::string::npos || comma == 0 || comma + 1 == names.size() ||
      names.find(',', comma + 1) != std::string::npos) {
    return invalid_argument("--names '{}': give two names separated by a comma", names);
  }
  return std::pair{names.substr(0, comma), names.substr(comma + 1)};
}

// Which runs to read: an eval folder, two files, or --baseline/--candidate lists.
Expected<report::Report> gather(const ReportArgs& a, const report::ReportOptions& options) {
  namespace fs = std::filesystem;
  if (a.inputs.size() == 1 && a.baseline.empty() && a.candidate.empty()) {
    if (!fs::is_directory(a.inputs[0])) {
      return invalid_argument(
          "{}: not an eval folder; give a folder with plan.json, two results files, or "
          "--baseline FILES --candidate FILES",
          a.inputs[0]);
    }
    return report::report_from_folder(a.inputs[0], options);
  }
  KVTIER_ASSIGN_OR_RETURN(auto names, split_names(a.names));
  std::vector<report::FileArm> arms(2);
  arms[0].name = names.first;
  arms[1].name = names.second;
  if (!a.baseline.empty() || !a.candidate.empty()) {
    if (a.baseline.empty() || a.candidate.empty() || !a.inputs.empty()) {
      return invalid_argument(
          "--baseline and --candidate go together, each with one or more results files, and "
          "without other files");
    }
    arms[0].files.assign(a.baseline.begin(), a.baseline.end());
    arms[1].files.assign(a.candidate.begin(), a.candidate.end());
  } else if (a.inputs.size() == 2) {
    arms[0].files = {a.inputs[0]};
    arms[1].files = {a.inputs[1]};
  } else {
    return invalid_argument(
        "give an eval folder, BASELINE.json CANDIDATE.json, or --baseline FILES --candidate "
        "FILES ({} files given)",
        a.inputs.size());
  }
  return report::report_from_files(arms, options);
}

std::function<int()> setup_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  app.add_option("inputs", args->inputs,
                 "An eval folder (plan.json, cells/; the cells' monitor archives add system "
                 "metrics), or BASELINE.json CANDIDATE.json");
  app.add_option("--baseline", args->baseline,
                 "benchmarks.json files of the baseline, one per repeat");
  app.add_option("--candidate", args->candidate,
                 "benchmarks.json files of the candidate, one per repeat");
  app.add_option("--names", args->names,
                 "Names of the baseline and candidate files' runs, e.g. no-offload,native-offload")
      ->capture_default_str();
  app.add_option("--out", args->out,
                 "Folder for report.md and report.html (an eval folder's default: the folder)");
  app.add_flag("--force", args->force,
               "Compare runs whose profile, data or model differ (the report warns at the top)");
  return [args]() -> int {
    report::ReportOptions options;
    options.force = args->force;
    auto r = gather(*args, options);
    if (!r) {
      fmt::print(stderr, "kvtier report: {}\n", r.error().message());
      return r.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
    }
    fmt::print("{}", report::render_markdown(*r));
    std::string out = args->out;
    if (out.empty() && args->inputs.size() == 1 && args->baseline.empty()) out = args->inputs[0];
    if (!out.empty()) {
      if (auto written = report::write_report_files(*r, out); !written) {
        fmt::print(stderr, "kvtier report: {}\n", written.message());
        return 1;
      }
      fmt::print(stderr, "Wrote {0}/report.md and {0}/report.html\n", out);
    }
    return 0;
  };
}

}  // namespace

KVTIER_COMMAND("report",
               "Verdict and comparison tables/charts from an eval folder or `kvtier bench` / "
               "GuideLLM results (mean ± SE over repeats)",
               setup_report);

}  // namespace kvtier::cli
