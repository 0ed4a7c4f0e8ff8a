#pragma once
// Where a report's runs come from: an eval output folder (`kvtier eval`'s contract, documented in
// docs/report.md) or plain benchmarks.json files given per arm on the command line.
#include <filesystem>
#include <string>
#include <vector>

#include "report/report_model.h"

namespace kvtier::report {

// Reads OUT/plan.json, each planned cell's cell.json and benchmarks.json, and experiment.yaml.
// Cells that failed, never finished or never ran are kept as named failures of their arm; only a
// missing or malformed plan.json (or a plan without its baseline) is an error.
Expected<Report> read_eval_folder(const std::filesystem::path& dir);

struct FileArm {
  std::string name;                          // "no-offload"
  std::vector<std::filesystem::path> files;  // one benchmarks.json per repeat
};
// arms[0] is the baseline. Files that cannot be read are errors naming the file.
Expected<Report> read_bench_files(const std::vector<FileArm>& arms);

// argv as a shell line: words with characters a shell would read are single-quoted.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace kvtier::report
