// benchmarks.json written by the bench module from known request records, read back by the
// report module and by the real `kvtier report` (KVTIER_BIN): every number the report shows
// equals the one worked out by hand from the records (bench/known_records.h). The candidate's
// records are the baseline's with every time doubled, so its latencies are exactly twice and
// its rates exactly half the baseline's.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/bench_report.h"
#include "bench/known_records.h"
#include "report/number_format.h"
#include "report/report_files.h"

namespace kvtier {
namespace {

namespace fs = std::filesystem;
using bench::testing::known_numbers;
using bench::testing::known_report;
using bench::testing::KnownNumbers;

constexpr double kCandidateScale = 2.0;

fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / fmt::format("kvtier_{}_{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// `kvtier bench --profile concurrent --rate 3 --max-requests 14 --outputs json` writing into
// `dir`.
Expected<bench::BenchConfig> bench_config(const fs::path& dir) {
  bench::RawBenchArgs raw;
  raw.target = "http://127.0.0.1:8000";
  raw.data = {"prompt_tokens=128,output_tokens=64"};
  raw.profile = "concurrent";
  raw.rate = {"3"};
  raw.model = "Qwen/Qwen3-0.6B";
  raw.max_requests = 14;
  raw.output_dir = dir.string();
  raw.outputs = {"json"};
  return bench::make_bench_config(raw);
}

// Writes the known benchmark (times stretched by `scale`) as `kvtier bench` does.
fs::path write_known_results(const fs::path& dir, double scale) {
  const auto config = bench_config(dir);
  if (!config) {
    ADD_FAILURE() << config.error().message();
    return {};
  }
  const Status written = bench::write_outputs(known_report(*config, scale));
  EXPECT_TRUE(written.is_ok()) << written.message();
  return dir / "benchmarks.json";
}

void expect_level(const report::LevelResult& r, const KnownNumbers& k) {
  EXPECT_EQ(r.strategy, "concurrent");
  EXPECT_EQ(r.level, 3);
  EXPECT_EQ(r.successful, k.successful);
  EXPECT_EQ(r.incomplete, k.incomplete);
  EXPECT_EQ(r.errored, k.errored);
  EXPECT_DOUBLE_EQ(r.start_time, bench::testing::kT0);
  EXPECT_DOUBLE_EQ(r.end_time, bench::testing::kT0 + k.duration);
  EXPECT_DOUBLE_EQ(r.requests_per_second, k.requests_per_second);
  EXPECT_DOUBLE_EQ(r.output_tokens_per_second, k.output_tokens_per_second);
  EXPECT_DOUBLE_EQ(r.latency_mean_s, k.latency_mean);
  EXPECT_DOUBLE_EQ(r.latency_median_s, k.latency_median);
  EXPECT_DOUBLE_EQ(r.latency_p99_s, k.latency_p99);
  EXPECT_DOUBLE_EQ(r.ttft_mean_ms, k.ttft_mean);
  EXPECT_DOUBLE_EQ(r.ttft_median_ms, k.ttft_median);
  EXPECT_DOUBLE_EQ(r.ttft_p99_ms, k.ttft_p99);
  EXPECT_DOUBLE_EQ(r.itl_mean_ms, k.itl_mean);
  EXPECT_DOUBLE_EQ(r.itl_median_ms, k.itl_median);
  EXPECT_DOUBLE_EQ(r.itl_p99_ms, k.itl_p99);
}

// The report's value of each metric for the known numbers.
double metric_value(report::Metric m, const KnownNumbers& k) {
  using report::Metric;
  switch (m) {
    case Metric::kOutputTokensPerSecond:
      return k.output_tokens_per_second;
    case Metric::kRequestsPerSecond:
      return k.requests_per_second;
    case Metric::kTtftP50:
      return k.ttft_median;
    case Metric::kTtftP99:
      return k.ttft_p99;
    case Metric::kItlP50:
      return k.itl_median;
    case Metric::kItlP99:
      return k.itl_p99;
    case Metric::kLatencyP50:
      return k.latency_median;
    case Metric::kErrored:
      return static_cast<double>(k.errored);
    case Metric::kIncomplete:
      return static_cast<double>(k.incomplete);
    case Metric::kLatencyMean:
      return k.latency_mean;
    case Metric::kTtftMean:
      return k.ttft_mean;
    case Metric::kItlMean:
      return k.itl_mean;
  }
  return report::kMissing;
}

TEST(BenchReportRoundTrip, TheReportReadsWhatTheBenchWrote) {
  const auto dir = fresh_dir("round_trip");
  const fs::path base = write_known_results(dir / "base", 1);
  const fs::path cand = write_known_results(dir / "cand", kCandidateScale);
  const KnownNumbers kb = known_numbers(1), kc = known_numbers(kCandidateScale);

  auto results = report::load_bench_results(base);
  ASSERT_TRUE(results.has_value()) << results.error().message();
  ASSERT_EQ(results->levels.size(), 1u);
  expect_level(results->levels[0], kb);
  EXPECT_EQ(results->identity.tool, "kvtier bench");
  EXPECT_EQ(results->identity.rate_type, "concurrent");
  EXPECT_EQ(results->identity.rates, std::vector<double>{3});
  EXPECT_EQ(results->identity.model, "Qwen/Qwen3-0.6B");
  auto stretched = report::load_bench_results(cand);
  ASSERT_TRUE(stretched.has_value()) << stretched.error().message();
  ASSERT_EQ(stretched->levels.size(), 1u);
  expect_level(stretched->levels[0], kc);

  // The report model: each arm's single run, and the candidate's change against the baseline.
  auto r = report::report_from_files({{"no-offload", {base}}, {"native-offload", {cand}}},
                                     report::ReportOptions{});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->groups.size(), 1u);
  const report::Group& g = r->groups[0];
  ASSERT_EQ(g.arms.size(), 2u);
  EXPECT_EQ(g.levels, std::vector<double>{3});
  EXPECT_EQ(g.level_name, "Concurrency");
  const report::LevelStats* sb = g.arms[0].at(3);
  const report::LevelStats* sc = g.arms[1].at(3);
  ASSERT_NE(sb, nullptr);
  ASSERT_NE(sc, nullptr);
  ASSERT_EQ(g.comparisons.size(), 1u);
  ASSERT_EQ(g.comparisons[0].levels.size(), 1u);
  for (const auto& m : report::metric_specs()) {
    const double want_base = metric_value(m.id, kb), want_cand = metric_value(m.id, kc);
    EXPECT_DOUBLE_EQ((*sb)[m.id].mean, want_base) << m.name;
    EXPECT_DOUBLE_EQ((*sc)[m.id].mean, want_cand) << m.name;
    const auto& change = g.comparisons[0].levels[0][static_cast<size_t>(m.id)].change;
    EXPECT_NEAR(change.percent, 100.0 * (want_cand / want_base - 1.0), 1e-9) << m.name;
  }
  // Doubled times: latencies +100%, rates -50%.
  EXPECT_NEAR(g.comparisons[0].levels[0][size_t(report::Metric::kTtftP99)].change.percent, 100.0,
              1e-9);
  EXPECT_NEAR(g.comparisons[0].levels[0][size_t(report::Metric::kRequestsPerSecond)].change.percent,
              -50.0, 1e-9);

  // `kvtier report BASE CAND`: every per-level table row shows the hand-computed numbers.
  int code = -1;
  const std::string out =
      run_command(fmt::format("{} report {} {} --names no-offload,native-offload "
                              "--out {}",
                              KVTIER_BIN, base.string(), cand.string(), (dir / "report").string()),
                  &code);
  ASSERT_EQ(code, 0) << out;
  std::ifstream in(dir / "report" / "report.md");
  std::stringstream md;
  md << in.rdbuf();
  for (const auto& m : report::metric_specs()) {
    if (!m.in_tables) continue;
    const double b = metric_value(m.id, kb), c = metric_value(m.id, kc);
    const std::string row = fmt::format(
        "| 3 | {} | {} | {} | {} |", report::format_value(b, m.decimals),
        report::format_value(c, m.decimals), report::format_difference(c - b, m.decimals),
        report::format_percent(b == 0 ? std::nullopt : std::optional(100.0 * (c / b - 1.0))));
    const std::string table = fmt::format("#### {}\n\n", m.title);
    const size_t at = md.str().find(table);
    ASSERT_NE(at, std::string::npos) << m.title << "\n" << md.str();
    EXPECT_NE(md.str().find(row, at), std::string::npos) << m.name << ": " << row << "\n"
                                                         << md.str().substr(at, 400);
  }
  // report.html: the same rows in each metric's table.
  std::ifstream html_in(dir / "report" / "report.html");
  std::stringstream html;
  html << html_in.rdbuf();
  for (const auto& m : report::metric_specs()) {
    if (!m.in_tables) continue;
    const double b = metric_value(m.id, kb), c = metric_value(m.id, kc);
    const std::string cells =
        fmt::format("<tr><td>3</td><td>{}</td><td>{}</td><td>{}</td><td class=",
                    report::format_value(b, m.decimals), report::format_value(c, m.decimals),
                    report::format_difference(c - b, m.decimals));
    const std::string change = fmt::format(
        ">{}</td></tr>",
        report::format_percent(b == 0 ? std::nullopt : std::optional(100.0 * (c / b - 1.0))));
    const size_t at = html.str().find(fmt::format("<h3>{}</h3>", m.title));
    ASSERT_NE(at, std::string::npos) << m.title;
    const size_t row = html.str().find(cells, at);
    ASSERT_NE(row, std::string::npos) << m.name << ": " << cells;
    EXPECT_EQ(html.str().find(change, row), html.str().find("</tr>", row) - change.size() + 5)
        << m.name << ": " << html.str().substr(row, 200);
  }

  // The summary: req/s and the mean latency, TTFT and ITL.
  const std::string summary = fmt::format(
      "| **no-offload (baseline)** | {} | {} | {} | {} |",
      report::format_value(kb.requests_per_second, 1), report::format_value(kb.latency_mean, 2),
      report::format_value(kb.ttft_mean, 1), report::format_value(kb.itl_mean, 1));
  EXPECT_NE(md.str().find(summary), std::string::npos) << summary << "\n" << md.str();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvtier
