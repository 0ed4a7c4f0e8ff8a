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

Expected<Comparison> compare_files(const std::filesystem::path& baseline,
                                   const std::filesystem::path& candidate,
                                   const std::string& baseline_name,
                                   const std::string& candidate_name) {
  KVTIER_ASSIGN_OR_RETURN(auto base, load_bench_results(baseline));
  KVTIER_ASSIGN_OR_RETURN(auto cand, load_bench_results(candidate));
  return compare(base, cand, baseline_name, candidate_name);
}

Status write_report_files(const Comparison& c, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return not_found("--out {}: cannot create the folder: {}", dir.string(), ec.message());
  KVTIER_RETURN_IF_ERROR(write_text(dir / "report.md", render_markdown(c)));
  return write_text(dir / "report.html", render_html(c));
}

}  // namespace kvtier::report
