#pragma once
// `kvtier report`'s work: load two results files, compare them, and write report.md and
// report.html into a folder.
#include <filesystem>
#include <string>

#include "report/comparison.h"

namespace kvtier::report {

Expected<Comparison> compare_files(const std::filesystem::path& baseline,
                                   const std::filesystem::path& candidate,
                                   const std::string& baseline_name,
                                   const std::string& candidate_name);

// Writes DIR/report.md and DIR/report.html (creating DIR).
Status write_report_files(const Comparison& c, const std::filesystem::path& dir);

}  // namespace kvtier::report
