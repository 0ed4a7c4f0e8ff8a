#include "report/report_files.h"

#include <fstream>

#include "report/html_page.h"
#include "report/markdown.h"

namespace kvtier::report {
namespace {

Status write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) return not_found("{}: cannot open for writing", path.string());
  out << text;
  out.flush();
  if (!out) return data_loss("{}: write failed (disk full?)", path.string());
  return Status::ok();
}

}  // namespace

Expected<Report> report_from_folder(const std::filesystem::path& dir,
                                    const ReportOptions& options) {
  KVTIER_ASSIGN_OR_RETURN(Report r, read_eval_folder(dir));
  KVTIER_RETURN_IF_ERROR(build_report(r, options));
  return r;
}

Expected<Report> report_from_files(const std::vector<FileArm>& arms, const ReportOptions& options) {
  KVTIER_ASSIGN_OR_RETURN(Report r, read_bench_files(arms));
  KVTIER_RETURN_IF_ERROR(build_report(r, options));
  return r;
}

Status write_report_files(const Report& r, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return not_found("--out {}: cannot create the folder: {}", dir.string(), ec.message());
  KVTIER_RETURN_IF_ERROR(write_text(dir / "report.md", render_markdown(r)));
  return write_text(dir / "report.html", render_html(r));
}

}  // namespace kvtier::report
