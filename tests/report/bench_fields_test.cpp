// Which group (successful, incomplete, errored, total) and which statistic (mean, median, p90,
// p99, ...) each report number comes from. Every field of the fixture holds its own value,
// metric*100 + group*10 + statistic, so reading the wrong one gives a number the test names.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "report/bench_results.h"
#include "report/markdown.h"
#include "report/report_files.h"
#include "report_fixtures.h"

namespace kvtier::report {
namespace {

using testing::TempDir;
using testing::write_file;

// metrics.NAME's index in the encoded values.
enum MetricCode : int {
  kRps = 1,      // requests_per_second
  kOutTokS = 2,  // output_tokens_per_second
  kLatency = 3,  // request_latency (s)
  kTtft = 4,     // time_to_first_token_ms
  kItl = 5,      // inter_token_latency_ms
  kTpot = 6,     // time_per_output_token_ms (never read by the report)
};
constexpr const char* kGroups[] = {"successful", "incomplete", "errored", "total"};  // 1..4
enum StatCode : int { kMean = 1, kMedian = 2, kP90 = 3, kP95 = 4, kP99 = 5, kP999 = 6, kMax = 7 };

double code(int metric, int group, int stat, double shift) {
  return metric * 100 + group * 10 + stat + shift;
}

// Every group and statistic of one metric distinct; `shift` tells the two arms apart.
nlohmann::json distribution(int metric, double shift) {
  nlohmann::json d = nlohmann::json::object();
  for (int g = 1; g <= 4; ++g) {
    auto v = [&](int stat) { return code(metric, g, stat, shift); };
    d[kGroups[g - 1]] = {{"mean", v(kMean)},
                         {"median", v(kMedian)},
                         {"mode", 0.5},
                         {"min", 0.25},
                         {"max", v(kMax)},
                         {"count", 9},
                         {"percentiles",
                          {{"p50", v(kMedian)},
                           {"p90", v(kP90)},
                           {"p95", v(kP95)},
                           {"p99", v(kP99)},
                           {"p999", v(kP999)}}}};
  }
  return d;
}

std::string results(double shift) {
  nlohmann::json b = {{"config", {{"strategy", {{"type_", "concurrent"}, {"streams", 7}}}}},
                      {"start_time", 1796616000.25},
                      {"end_time", 1796616030.75},
                      {"metrics",
                       {{"requests_per_second", distribution(kRps, shift)},
                        {"output_tokens_per_second", distribution(kOutTokS, shift)},
                        {"request_latency", distribution(kLatency, shift)},
                        {"time_to_first_token_ms", distribution(kTtft, shift)},
                        {"inter_token_latency_ms", distribution(kItl, shift)},
                        {"time_per_output_token_ms", distribution(kTpot, shift)},
                        {"request_totals",
                         {{"successful", 11}, {"incomplete", 3}, {"errored", 2}, {"total", 16}}}}},
                      {"requests", {{"successful", nlohmann::json::array()}}}};
  return nlohmann::json{{"metadata", {{"tool", "kvtier bench"}, {"model", "Qwen/Qwen3-0.6B"}}},
                        {"args",
                         {{"profile", "concurrent"},
                          {"rate", {7}},
                          {"data", {"prompt_tokens=128,output_tokens=64"}},
                          {"target", "http://127.0.0.1:8000"}}},
                        {"benchmarks", {b}}}
      .dump();
}

TEST(BenchFields, EachNumberComesFromItsGroupAndStatistic) {
  auto parsed = parse_bench_results(results(0), "fields.json");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  ASSERT_EQ(parsed->levels.size(), 1u);
  const LevelResult& r = parsed->levels[0];
  constexpr int kSuccessful = 1, kTotal = 4;
  EXPECT_EQ(r.strategy, "concurrent");
  EXPECT_EQ(r.level, 7);
  EXPECT_EQ(r.requests_per_second, code(kRps, kSuccessful, kMean, 0));      // 111
  EXPECT_EQ(r.output_tokens_per_second, code(kOutTokS, kTotal, kMean, 0));  // 241
  EXPECT_EQ(r.latency_mean_s, code(kLatency, kSuccessful, kMean, 0));
  EXPECT_EQ(r.latency_median_s, code(kLatency, kSuccessful, kMedian, 0));
  EXPECT_EQ(r.latency_p99_s, code(kLatency, kSuccessful, kP99, 0));
  EXPECT_EQ(r.ttft_mean_ms, code(kTtft, kSuccessful, kMean, 0));
  EXPECT_EQ(r.ttft_median_ms, code(kTtft, kSuccessful, kMedian, 0));
  EXPECT_EQ(r.ttft_p99_ms, code(kTtft, kSuccessful, kP99, 0));
  EXPECT_EQ(r.itl_mean_ms, code(kItl, kSuccessful, kMean, 0));
  EXPECT_EQ(r.itl_median_ms, code(kItl, kSuccessful, kMedian, 0));
  EXPECT_EQ(r.itl_p99_ms, code(kItl, kSuccessful, kP99, 0));
  EXPECT_EQ(r.successful, 11);
  EXPECT_EQ(r.incomplete, 3);
  EXPECT_EQ(r.errored, 2);
  EXPECT_EQ(r.start_time, 1796616000.25);
  EXPECT_EQ(r.end_time, 1796616030.75);
}

// The report model and its tables: every metric of both arms, from the right field.
TEST(BenchFields, ReportTablesShowTheRightFieldOfEachArm) {
  TempDir dir("kvtier-report-fields");
  write_file(dir.path() / "base.json", results(0));
  write_file(dir.path() / "cand.json", results(0.5));
  auto report = report_from_files(
      {{"no-offload", {dir.path() / "base.json"}}, {"native-offload", {dir.path() / "cand.json"}}},
      ReportOptions{});
  ASSERT_TRUE(report.has_value()) << report.error().message();
  ASSERT_EQ(report->groups.size(), 1u);
  const Group& g = report->groups[0];
  ASSERT_EQ(g.arms.size(), 2u);
  EXPECT_EQ(g.levels, std::vector<double>{7});

  struct Expected {
    Metric metric;
    double value;  // the baseline's; the candidate's is 0.5 more
  };
  const Expected kExpected[] = {
      {Metric::kOutputTokensPerSecond, 241},  // total.mean
      {Metric::kRequestsPerSecond, 111},      // successful.mean
      {Metric::kTtftP50, 412},
      {Metric::kTtftP99, 415},
      {Metric::kItlP50, 512},
      {Metric::kItlP99, 515},
      {Metric::kLatencyP50, 312},
      {Metric::kErrored, 2},
      {Metric::kIncomplete, 3},
      {Metric::kLatencyMean, 311},
      {Metric::kTtftMean, 411},
      {Metric::kItlMean, 511},
  };
  static_assert(std::size(kExpected) == kMetricCount);
  for (const auto& e : kExpected) {
    const bool count = e.metric == Metric::kErrored || e.metric == Metric::kIncomplete;
    for (size_t a = 0; a < 2; ++a) {
      const LevelStats* s = g.arms[a].at(7);
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->repeats, 1);
      EXPECT_EQ((*s)[e.metric].n, 1) << spec(e.metric).name;
      EXPECT_EQ((*s)[e.metric].mean, e.value + (a == 1 && !count ? 0.5 : 0.0))
          << g.arms[a].name << ": " << spec(e.metric).name;
    }
  }

  // Per-level rows: baseline | candidate | difference | change (a single run: no effect word).
  const std::string md = render_markdown(*report);
  for (const char* row : {
           "| 7 | 241.0 | 241.5 | +0.5 | +0.2% |",     // output tok/s
           "| 7 | 111.0 | 111.5 | +0.5 | +0.5% |",     // req/s
           "| 7 | 412.0 | 412.5 | +0.5 | +0.1% |",     // TTFT median
           "| 7 | 415.0 | 415.5 | +0.5 | +0.1% |",     // TTFT p99
           "| 7 | 512.0 | 512.5 | +0.5 | +0.1% |",     // ITL median
           "| 7 | 515.0 | 515.5 | +0.5 | +0.1% |",     // ITL p99
           "| 7 | 312.00 | 312.50 | +0.50 | +0.2% |",  // latency median
           "| 7 | 2.0 | 2.0 | 0.0 | 0.0% |",           // errored
           "| 7 | 3.0 | 3.0 | 0.0 | 0.0% |",           // incomplete
       }) {
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  // The summary's means: req/s, latency, TTFT, ITL.
  EXPECT_NE(md.find("| **no-offload (baseline)** | 111.0 | 311.00 | 411.0 | 511.0 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| native-offload | 111.5 (+0.5%) | 311.50 (+0.2%) | 411.5 (+0.1%) | "
                    "511.5 (+0.1%) |"),
            std::string::npos)
      << md;
}

}  // namespace
}  // namespace kvtier::report
