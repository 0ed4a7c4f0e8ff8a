#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "report/bench_results.h"
#include "report/comparison.h"
#include "report/html_page.h"
#include "report/markdown.h"
#include "report/number_format.h"
#include "report/report_files.h"
#include "report/svg_chart.h"

namespace kvtier::report {
namespace {

struct Level {
  int streams;
  double rps, tok_s, lat_mean, lat_median, ttft_mean, ttft_median, itl_mean, itl_median;
};

nlohmann::json dist(double mean, double median) {
  return {{"successful", {{"mean", mean}, {"median", median}}},
          {"total", {{"mean", mean}, {"median", median}}}};
}

// A benchmarks.json with one concurrent benchmark per level (and a bulky requests list).
std::string results_file(const std::vector<Level>& levels) {
  nlohmann::json benchmarks = nlohmann::json::array();
  for (const auto& l : levels) {
    benchmarks.push_back(
        {{"config", {{"strategy", {{"type_", "concurrent"}, {"streams", l.streams}}}}},
         {"metrics",
          {{"requests_per_second", dist(l.rps, l.rps)},
           {"output_tokens_per_second", dist(l.tok_s, l.tok_s)},
           {"request_latency", dist(l.lat_mean, l.lat_median)},
           {"time_to_first_token_ms", dist(l.ttft_mean, l.ttft_median)},
           {"inter_token_latency_ms", dist(l.itl_mean, l.itl_median)},
           {"request_totals", {{"successful", 10}, {"incomplete", 1}, {"errored", 0}}}}},
         {"requests", {{"successful", nlohmann::json::array({{{"request_id", "x"}}})}}}});
  }
  return nlohmann::json{{"metadata", {}}, {"args", {}}, {"benchmarks", benchmarks}}.dump();
}

// The seed report's numbers at concurrency 5, 25 and 50 (medians), with made-up means.
const std::vector<Level> kBaseline = {{5, 5.0, 647.2, 1.02, 1.00, 70, 64.8, 7.5, 7.3},
                                      {25, 14.3, 1921.3, 1.76, 1.70, 110, 103.4, 12.5, 12.2},
                                      {50, 21.9, 2965.9, 2.25, 2.20, 200, 194.1, 16.0, 15.5}};
const std::vector<Level> kCandidate = {{5, 4.2, 643.2, 1.06, 1.00, 66, 61.1, 7.6, 7.3},
                                       {25, 13.9, 1855.9, 1.86, 1.80, 180, 173.5, 13.0, 12.3},
                                       {50, 20.6, 2799.4, 2.40, 2.30, 320, 312.2, 16.4, 15.9}};

Comparison seed_comparison(std::vector<Level> candidate = kCandidate) {
  auto base = parse_bench_results(results_file(kBaseline), "base.json");
  auto cand = parse_bench_results(results_file(candidate), "cand.json");
  EXPECT_TRUE(base.has_value() && cand.has_value());
  auto c = compare(*base, *cand, "no-offload", "native-offload");
  EXPECT_TRUE(c.has_value());
  return *c;
}

TEST(NumberFormat, SeedStyle) {
  EXPECT_EQ(format_value(1921.34, 1), "1,921.3");
  EXPECT_EQ(format_value(1234567.0, 0), "1,234,567");
  EXPECT_EQ(format_value(-1921.3, 1), "-1,921.3");
  EXPECT_EQ(format_value(5.0, 1), "5.0");
  EXPECT_EQ(format_difference(70.1, 1), "+70.1");
  EXPECT_EQ(format_difference(-0.8, 1), "-0.8");
  EXPECT_EQ(format_difference(-0.04, 1), "0.0");  // no "-0.0"
  EXPECT_EQ(format_percent(67.84), "+67.8%");
  EXPECT_EQ(format_percent(-16.0), "-16.0%");
  EXPECT_EQ(format_percent(0.0), "0.0%");
  EXPECT_EQ(format_percent(std::nullopt), "n/a");
}

TEST(Report, TablesEqualHandComputedNumbers) {
  const std::string md = render_markdown(seed_comparison());
  // Per level: baseline | candidate | difference | % change, as in the seed report.
  for (const char* row : {
           "| 5 | 5.0 | 4.2 | -0.8 | -16.0% |",
           "| 25 | 14.3 | 13.9 | -0.4 | -2.8% |",
           "| 50 | 21.9 | 20.6 | -1.3 | -5.9% |",
           "| 5 | 647.2 | 643.2 | -4.0 | -0.6% |",
           "| 25 | 1,921.3 | 1,855.9 | -65.4 | -3.4% |",
           "| 50 | 2,965.9 | 2,799.4 | -166.5 | -5.6% |",
           "| 5 | 1.00 | 1.00 | 0.00 | 0.0% |",
           "| 25 | 1.70 | 1.80 | +0.10 | +5.9% |",
           "| 50 | 2.20 | 2.30 | +0.10 | +4.5% |",
           "| 5 | 64.8 | 61.1 | -3.7 | -5.7% |",
           "| 25 | 103.4 | 173.5 | +70.1 | +67.8% |",
           "| 50 | 194.1 | 312.2 | +118.1 | +60.8% |",
           "| 5 | 7.3 | 7.3 | 0.0 | 0.0% |",
           "| 25 | 12.2 | 12.3 | +0.1 | +0.8% |",
           "| 50 | 15.5 | 15.9 | +0.4 | +2.6% |",
       }) {
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  for (const char* title :
       {"#### Throughput Comparison (requests/sec)",
        "#### Token Throughput Comparison (output tokens/sec)",
        "#### Latency Comparison - Median (seconds)",
        "#### Time to First Token (TTFT) - Median (milliseconds)",
        "#### Inter-Token Latency (ITL) - Median (milliseconds)",
        "| Concurrency | no-offload | native-offload | Difference | % Change |"}) {
    EXPECT_NE(md.find(title), std::string::npos) << title;
  }
  // Summary: averages over the 3 levels (throughput; mean latency, TTFT, ITL), better bold.
  // req/s 41.2/3 vs 38.7/3; latency 5.03/3 vs 5.32/3; TTFT 380/3 vs 566/3; ITL 36/3 vs 37/3.
  EXPECT_NE(md.find("| **no-offload (baseline)** | **13.7** | **1.68** | **126.7** | **12.0** |"),
            std::string::npos)
      << md;
  EXPECT_NE(
      md.find("| native-offload | 12.9 (-6.1%) | 1.77 (+5.8%) | 188.7 (+48.9%) | 12.3 (+2.8%) |"),
      std::string::npos)
      << md;
}

TEST(Report, MismatchedLevelsCompareOnlyCommonOnes) {
  auto candidate = kCandidate;
  candidate.erase(candidate.begin());  // no level 5
  candidate.push_back({100, 26.8, 3702.6, 3.6, 3.5, 540, 534.2, 23.5, 23.2});
  auto c = seed_comparison(candidate);
  EXPECT_EQ(c.levels, (std::vector<double>{25, 50}));
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_EQ(c.notes[0], "Only in no-offload: 5 (left out)");
  EXPECT_EQ(c.notes[1], "Only in native-offload: 100 (left out)");
  const std::string md = render_markdown(c);
  EXPECT_EQ(md.find("| 5 | 5.0"), std::string::npos);
  EXPECT_NE(md.find("> Note: Only in native-offload: 100 (left out)"), std::string::npos);
  EXPECT_NE(md.find("Averages are over the 2 shared levels"), std::string::npos);

  auto base = parse_bench_results(results_file({kBaseline[0]}), "base.json");
  auto other = parse_bench_results(results_file({candidate.back()}), "cand.json");
  auto none = compare(*base, *other, "a", "b");
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message().find("base.json (levels 5)"), std::string::npos)
      << none.error().message();
  EXPECT_NE(none.error().message().find("cand.json (levels 100)"), std::string::npos);
}

TEST(Report, LevelsWithoutCompletedRequestsAreNoted) {
  auto json = nlohmann::json::parse(results_file(kCandidate));
  json["benchmarks"][2]["metrics"]["request_totals"]["successful"] = 0;
  auto base = parse_bench_results(results_file(kBaseline), "base.json");
  auto cand = parse_bench_results(json.dump(), "cand.json");
  auto c = compare(*base, *cand, "no-offload", "native-offload");
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->notes.size(), 1u);
  EXPECT_EQ(c->notes[0],
            "native-offload completed no request at level 50: its latency, TTFT and ITL there "
            "are 0");
}

TEST(Report, BadFilesNameTheProblem) {
  auto not_json = parse_bench_results("{\"benchmarks\": [", "x.json");
  ASSERT_FALSE(not_json.has_value());
  EXPECT_NE(not_json.error().message().find("x.json: not valid JSON"), std::string::npos);
  auto no_list = parse_bench_results("{\"results\": []}", "y.json");
  EXPECT_NE(no_list.error().message().find("y.json: no \"benchmarks\" list"), std::string::npos);
  auto json = nlohmann::json::parse(results_file(kBaseline));
  json["benchmarks"][1]["metrics"].erase("time_to_first_token_ms");
  auto missing = parse_bench_results(json.dump(), "z.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find(
                "z.json: benchmarks[1].metrics.time_to_first_token_ms: missing"),
            std::string::npos)
      << missing.error().message();
  auto absent = load_bench_results("/nonexistent/benchmarks.json");
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
}

TEST(Report, LevelsComeFromTheStrategy) {
  nlohmann::json file = nlohmann::json::parse(results_file({kBaseline[0]}));
  auto b = file["benchmarks"][0];
  b["config"]["strategy"] = {{"type_", "constant"}, {"rate", 2.5}};
  file["benchmarks"].push_back(b);
  b["config"]["strategy"] = {{"type_", "synchronous"}};
  file["benchmarks"].push_back(b);
  auto r = parse_bench_results(file.dump(), "f.json");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->levels.size(), 3u);
  EXPECT_EQ(r->levels[0].level, 5);
  EXPECT_EQ(r->levels[1].level, 2.5);
  EXPECT_EQ(r->levels[1].strategy, "constant");
  EXPECT_EQ(r->levels[2].level, 1);
  EXPECT_EQ(r->levels[0].successful, 10);
}

TEST(Report, HtmlIsSelfContainedWithOneChartPerMetric) {
  auto c = seed_comparison();
  c.candidate_name = "offload<cpu>";
  const std::string html = render_html(c);
  size_t charts = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 5u);
  EXPECT_NE(html.find("offload&lt;cpu&gt;"), std::string::npos);
  EXPECT_EQ(html.find("offload<cpu>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_NE(html.find("<td>1,921.3</td><td>1,855.9</td><td>-65.4</td>"), std::string::npos);

  const std::string svg = render_svg_chart(c.tables[0], "a", "b", "Concurrency");
  const size_t points = svg.find("points=\"");
  ASSERT_NE(points, std::string::npos);
  const std::string first = svg.substr(points + 8, svg.find('"', points + 8) - points - 8);
  EXPECT_EQ(std::count(first.begin(), first.end(), ','), 3);  // one point per level
  EXPECT_NE(svg.find("<title>b at 25: 13.9 req/s</title>"), std::string::npos);
}

TEST(Report, WritesMarkdownAndHtmlFiles) {
  const auto base_path = std::filesystem::temp_directory_path() / "kvtier_report_base.json";
  const auto cand_path = std::filesystem::temp_directory_path() / "kvtier_report_cand.json";
  std::ofstream(base_path) << results_file(kBaseline);
  std::ofstream(cand_path) << results_file(kCandidate);
  auto c = compare_files(base_path, cand_path, "no-offload", "native-offload");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  const auto dir = std::filesystem::temp_directory_path() / "kvtier_report_out" / "nested";
  std::filesystem::remove_all(dir.parent_path());
  ASSERT_TRUE(write_report_files(*c, dir).is_ok());
  std::ifstream md(dir / "report.md");
  std::stringstream text;
  text << md.rdbuf();
  EXPECT_EQ(text.str(), render_markdown(*c));
  EXPECT_TRUE(std::filesystem::file_size(dir / "report.html") > 1000);
  std::filesystem::remove_all(dir.parent_path());
  std::filesystem::remove(base_path);
  std::filesystem::remove(cand_path);
}

}  // namespace
}  // namespace kvtier::report
