#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "report/bench_results.h"
#include "report/html_page.h"
#include "report/markdown.h"
#include "report/number_format.h"
#include "report/report_files.h"
#include "report/svg_chart.h"
#include "report_fixtures.h"

namespace kvtier::report {
namespace {

using testing::Level;
using testing::results_file;
using testing::TempDir;
using testing::write_file;

// The seed report's numbers at concurrency 5, 25 and 50 (medians), with made-up means.
const std::vector<Level> kBaseline = {{5, 5.0, 647.2, 1.02, 1.00, 70, 64.8, 7.5, 7.3},
                                      {25, 14.3, 1921.3, 1.76, 1.70, 110, 103.4, 12.5, 12.2},
                                      {50, 21.9, 2965.9, 2.25, 2.20, 200, 194.1, 16.0, 15.5}};
const std::vector<Level> kCandidate = {{5, 4.2, 643.2, 1.06, 1.00, 66, 61.1, 7.6, 7.3},
                                       {25, 13.9, 1855.9, 1.86, 1.80, 180, 173.5, 13.0, 12.3},
                                       {50, 20.6, 2799.4, 2.40, 2.30, 320, 312.2, 16.4, 15.9}};

// Two single runs, written to files and read back as `kvtier report A.json B.json` does.
Report seed_report(const TempDir& dir, std::vector<Level> candidate = kCandidate,
                   testing::RunSetup cand_setup = {}, bool force = false) {
  write_file(dir.path() / "base.json", results_file(kBaseline));
  write_file(dir.path() / "cand.json", results_file(candidate, cand_setup));
  auto r = report_from_files(
      {{"no-offload", {dir.path() / "base.json"}}, {"native-offload", {dir.path() / "cand.json"}}},
      ReportOptions{force});
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r.has_value() ? *r : Report{};
}

TEST(NumberFormat, SeedStyle) {
  EXPECT_EQ(format_value(1921.34, 1), "1,921.3");
  EXPECT_EQ(format_value(1234567.0, 0), "1,234,567");
  EXPECT_EQ(format_value(123456.0, 0), "123,456");
  EXPECT_EQ(format_value(-1921.3, 1), "-1,921.3");
  EXPECT_EQ(format_value(5.0, 1), "5.0");
  EXPECT_EQ(format_value(-0.04, 1), "0.0");
  EXPECT_EQ(format_difference(70.1, 1), "+70.1");
  EXPECT_EQ(format_difference(-0.8, 1), "-0.8");
  EXPECT_EQ(format_difference(-0.04, 1), "0.0");  // no "-0.0"
  EXPECT_EQ(format_percent(67.84), "+67.8%");
  EXPECT_EQ(format_percent(-16.0), "-16.0%");
  EXPECT_EQ(format_percent(0.0), "0.0%");
  EXPECT_EQ(format_percent(std::nullopt), "n/a");
  EXPECT_EQ(format_estimate(estimate({1, 2, 3}), 2), "2.00 ± 0.58");
  EXPECT_EQ(format_estimate(estimate({1921.34}), 1), "1,921.3");
  EXPECT_EQ(format_estimate(Estimate{}, 1), "n/a");
}

TEST(Report, SingleRunTablesEqualHandComputedNumbers) {
  TempDir dir("kvtier-report-tables");
  const std::string md = render_markdown(seed_report(dir));
  // Per level: baseline | candidate | difference | % change, as in the seed report; a single
  // run has no bound, so no change carries a word.
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
           // p99 (the fixture's p99 is twice the median)
           "| 25 | 206.8 | 347.0 | +140.2 | +67.8% |",
       }) {
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  for (const char* title :
       {"#### Throughput Comparison (requests/sec)",
        "#### Token Throughput Comparison (output tokens/sec)",
        "#### Latency Comparison - Median (seconds)",
        "#### Time to First Token (TTFT) - Median (milliseconds)",
        "#### Time to First Token (TTFT) - p99 (milliseconds)",
        "#### Inter-Token Latency (ITL) - Median (milliseconds)",
        "#### Inter-Token Latency (ITL) - p99 (milliseconds)", "#### Errored Requests (count)",
        "| Concurrency | no-offload | native-offload | Difference | % Change |"}) {
    EXPECT_NE(md.find(title), std::string::npos) << title;
  }
  // Summary: averages over the 3 levels (throughput; mean latency, TTFT, ITL); a single run
  // makes nothing bold. req/s 41.2/3 vs 38.7/3; latency 5.03/3 vs 5.32/3; TTFT 380/3 vs 566/3.
  EXPECT_NE(md.find("| **no-offload (baseline)** | 13.7 | 1.68 | 126.7 | 12.0 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| native-offload | 12.9 (-6.1%) | 1.77 (+5.8%) | 188.7 (+48.9%) | 12.3 "
                    "(+2.8%) |"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("(gain)"), std::string::npos);
  EXPECT_EQ(md.find("(loss)"), std::string::npos);
  EXPECT_EQ(md.find("**12.9"), std::string::npos);
}

TEST(Report, LevelsOnlyOneArmHasAreNotedWithForce) {
  auto candidate = kCandidate;
  candidate.erase(candidate.begin());  // no level 5
  candidate.push_back({100, 26.8, 3702.6, 3.6, 3.5, 540, 534.2, 23.5, 23.2});
  TempDir dir("kvtier-report-levels");
  // Other levels are another profile: refused unless forced.
  write_file(dir.path() / "base.json", results_file(kBaseline));
  write_file(dir.path() / "cand.json", results_file(candidate));
  auto refused =
      report_from_files({{"a", {dir.path() / "base.json"}}, {"b", {dir.path() / "cand.json"}}}, {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("profile: concurrent 5, 25, 50"), std::string::npos)
      << refused.error().message();

  Report r = seed_report(dir, candidate, {}, /*force=*/true);
  ASSERT_EQ(r.groups.size(), 1u);
  const Group& g = r.groups[0];
  EXPECT_EQ(g.levels, (std::vector<double>{5, 25, 50, 100}));
  const std::string md = render_markdown(r);
  EXPECT_NE(md.find("> Note: no-offload has no results at concurrency 100"), std::string::npos)
      << md;
  EXPECT_NE(md.find("> Note: native-offload has no results at concurrency 5"), std::string::npos);
  EXPECT_NE(md.find("| 5 | 5.0 | n/a | n/a | n/a |"), std::string::npos) << md;
  EXPECT_NE(md.find("Averages are over the 2 levels every arm has"), std::string::npos);
}

TEST(Report, LevelsWithoutCompletedRequestsAreNoted) {
  auto json = nlohmann::json::parse(results_file(kCandidate));
  json["benchmarks"][2]["metrics"]["request_totals"]["successful"] = 0;
  TempDir dir("kvtier-report-zero");
  write_file(dir.path() / "base.json", results_file(kBaseline));
  write_file(dir.path() / "cand.json", json.dump());
  auto r = report_from_files(
      {{"no-offload", {dir.path() / "base.json"}}, {"native-offload", {dir.path() / "cand.json"}}},
      {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->groups[0].notes.size(), 1u);
  EXPECT_EQ(r->groups[0].notes[0],
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
  auto from_files =
      report_from_files({{"a", {"/nonexistent/a.json"}}, {"b", {"/nonexistent/b.json"}}}, {});
  ASSERT_FALSE(from_files.has_value());
  EXPECT_NE(from_files.error().message().find("/nonexistent/a.json"), std::string::npos);
}

TEST(Report, LevelsAndPercentilesComeFromTheFile) {
  nlohmann::json file = nlohmann::json::parse(results_file({kBaseline[0]}));
  auto b = file["benchmarks"][0];
  b["config"]["strategy"] = {{"type_", "constant"}, {"rate", 2.5}};
  file["benchmarks"].push_back(b);
  b["config"]["strategy"] = {{"type_", "synchronous"}};
  b["metrics"]["time_to_first_token_ms"]["successful"].erase("percentiles");
  file["benchmarks"].push_back(b);
  auto r = parse_bench_results(file.dump(), "f.json");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->levels.size(), 3u);
  EXPECT_EQ(r->levels[0].level, 5);
  EXPECT_EQ(r->levels[1].level, 2.5);
  EXPECT_EQ(r->levels[1].strategy, "constant");
  EXPECT_EQ(r->levels[2].level, 1);
  EXPECT_EQ(r->levels[0].successful, 10);
  EXPECT_DOUBLE_EQ(r->levels[0].ttft_p99_ms, 2 * 64.8);
  EXPECT_TRUE(std::isnan(r->levels[2].ttft_p99_ms));  // absent: n/a, not 0
}

TEST(Report, HtmlIsSelfContainedWithChartsPerMetric) {
  TempDir dir("kvtier-report-html");
  Report r = seed_report(dir);
  r.groups[0].arms[1].name = "offload<cpu>";
  const std::string html = render_html(r);
  size_t charts = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 14u);  // 7 metrics: values and % change
  EXPECT_NE(html.find("offload&lt;cpu&gt;"), std::string::npos);
  EXPECT_EQ(html.find("offload<cpu>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_NE(html.find("<td>1,921.3</td><td>1,855.9</td><td>-65.4</td><td class=\"\">-3.4%</td>"),
            std::string::npos);
  EXPECT_EQ(html.find("class=\"gain\""), std::string::npos);  // a single run colours nothing
  EXPECT_EQ(html.find("class=\"loss\""), std::string::npos);
}

TEST(SvgChart, PointsErrorBarsLegendAndAxes) {
  Chart c;
  c.title = "t";
  c.x_label = "Concurrency";
  c.y_label = "tok/s";
  c.categories = {"5", "25", "50"};
  c.series = {
      {"a", -1, {ChartPoint{10, 1, "a at 5"}, std::nullopt, ChartPoint{30, 0, "a at 50"}}},
      {"b",
       4,
       {ChartPoint{12, 2, "b at 5"}, ChartPoint{20, 2, "b at 25"}, ChartPoint{-5, 1, "b at 50"}}}};
  c.references = {{"base", 15, 0}};
  const std::string svg = render_svg_chart(c);
  const size_t points = svg.find("points=\"");
  ASSERT_NE(points, std::string::npos);
  const std::string first = svg.substr(points + 8, svg.find('"', points + 8) - points - 8);
  EXPECT_EQ(std::count(first.begin(), first.end(), ','), 2);  // the gap is skipped
  size_t bars = 0;
  for (size_t at = svg.find("class=\"error-bar\""); at != std::string::npos;
       at = svg.find("class=\"error-bar\"", at + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 4u);  // every point with an error > 0
  EXPECT_NE(svg.find("<title>b at 25</title>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"axis-label x-label\""), std::string::npos);
  EXPECT_NE(svg.find(">Concurrency</text>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"axis-label y-label\""), std::string::npos);
  EXPECT_NE(svg.find("<g class=\"legend\">"), std::string::npos);
  EXPECT_NE(svg.find(">base</text>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"reference\""), std::string::npos);
  EXPECT_NE(svg.find(">-10</text>"), std::string::npos);  // the axis reaches below -5 - 1
  EXPECT_NE(svg.find(fmt::format("stroke=\"{}\" stroke-width=\"2\" points=", series_color(4))),
            std::string::npos);  // b keeps the colour it was given
}

TEST(Report, WritesMarkdownAndHtmlFiles) {
  TempDir dir("kvtier-report-files");
  Report r = seed_report(dir);
  const auto out = dir.path() / "out" / "nested";
  ASSERT_TRUE(write_report_files(r, out).is_ok());
  std::ifstream md(out / "report.md");
  std::stringstream text;
  text << md.rdbuf();
  EXPECT_EQ(text.str(), render_markdown(r));
  EXPECT_TRUE(std::filesystem::file_size(out / "report.html") > 1000);
}

}  // namespace
}  // namespace kvtier::report

namespace kvtier::report {
namespace {

// GuideLLM 0.3's layout: no top-level args; each benchmark has args.profile, request_loader and
// worker.
std::string guidellm_03_file(const std::string& data, const std::string& model) {
  auto json = nlohmann::json::parse(results_file(kBaseline));
  json.erase("args");
  json.erase("metadata");
  for (auto& b : json["benchmarks"]) {
    b["args"] = {{"profile", {{"type_", "concurrent"}, {"streams", {5, 25, 50}}}},
                 {"strategy", b["config"]["strategy"]}};
    b.erase("config");
    b["request_loader"] = {{"data", data}, {"processor", model}};
    b["worker"] = {{"backend_target", "http://gateway:80"}, {"backend_model", model}};
  }
  return json.dump();
}

TEST(RunIdentity, ReadsKvtierAndGuidellmLayouts) {
  auto kvtier = parse_bench_results(results_file(kBaseline), "kvtier.json");
  ASSERT_TRUE(kvtier.has_value());
  EXPECT_EQ(kvtier->identity.tool, "kvtier bench");
  EXPECT_EQ(kvtier->identity.rate_type, "concurrent");
  EXPECT_EQ(kvtier->identity.rates, (std::vector<double>{5, 25, 50}));
  EXPECT_EQ(kvtier->identity.model, "Qwen/Qwen3-0.6B");
  EXPECT_EQ(kvtier->identity.data,
            R"({"output_tokens":128,"prefix_tokens":10000,"prompt_tokens":128,"turns":5})");

  auto guidellm = parse_bench_results(
      guidellm_03_file("prompt_tokens=128,output_tokens=128,prefix_tokens=10000,turns=5",
                       "Qwen/Qwen3-0.6B"),
      "guidellm.json");
  ASSERT_TRUE(guidellm.has_value()) << guidellm.error().message();
  EXPECT_EQ(guidellm->identity.tool, "guidellm");
  EXPECT_EQ(guidellm->identity.rate_type, "concurrent");
  EXPECT_EQ(guidellm->identity.rates, (std::vector<double>{5, 25, 50}));
  EXPECT_EQ(guidellm->identity.model, "Qwen/Qwen3-0.6B");
  EXPECT_EQ(guidellm->identity.data, kvtier->identity.data);  // same data, other spelling
  EXPECT_TRUE(identity_differences(kvtier->identity, "a", guidellm->identity, "b").empty());

  auto other = parse_bench_results(
      guidellm_03_file("prompt_tokens=512,output_tokens=128", "Qwen/Qwen3-8B"), "other.json");
  ASSERT_TRUE(other.has_value());
  const auto diffs = identity_differences(kvtier->identity, "a.json", other->identity, "b.json");
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0],
            R"(data: {"output_tokens":128,"prefix_tokens":10000,"prompt_tokens":128,"turns":5} )"
            R"((a.json) vs {"output_tokens":128,"prompt_tokens":512} (b.json))");
  EXPECT_EQ(diffs[1], "model: Qwen/Qwen3-0.6B (a.json) vs Qwen/Qwen3-8B (b.json)");
}

}  // namespace
}  // namespace kvtier::report
