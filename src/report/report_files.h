#pragma once
// `kvtier report`'s work: gather runs (an eval folder or plain files), build the statistics and
// the verdict, and write report.md and report.html into a folder. `kvtier eval` calls
// report_from_folder() and write_report_files() when its cells are done.
#include <filesystem>
#include <string>

#include "report/analysis.h"
#include "report/report_inputs.h"

namespace kvtier::report {

Expected<Report> report_from_folder(const std::filesystem::path& dir, const ReportOptions& options);
Expected<Report> report_from_files(const std::vector<FileArm>& arms, const ReportOptions& options);

// Writes DIR/report.md and DIR/report.html (creating DIR).
Status write_report_files(const Report& r, const std::filesystem::path& dir);

}  // namespace kvtier::report
