// benchmarks.json's metrics for every request group (successful, incomplete, errored, total),
// against numbers worked out by hand from known request records (known_records.h): a writer that
// puts one group's or one statistic's number under another's name fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bench/bench_report.h"
#include "known_records.h"

namespace kvtier::bench {
namespace {

using testing::known_report;
using testing::KnownNumbers;

void expect_near(const nlohmann::json& actual, double expected, const std::string& what) {
  ASSERT_TRUE(actual.is_number()) << what << ": " << actual.dump();
  EXPECT_NEAR(actual.get<double>(), expected, 1e-12 * std::max(1.0, std::abs(expected))) << what;
}

nlohmann::json written_benchmark() {
  const BenchConfig config;
  std::ostringstream out;
  write_benchmarks_json(known_report(config), out);
  const auto json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["benchmarks"].size(), 1u);
  return json["benchmarks"][0];
}

TEST(JsonGroups, EachGroupHoldsItsOwnRequests) {
  const KnownNumbers k;
  const auto b = written_benchmark();
  const auto& m = b["metrics"];
  EXPECT_EQ(m["request_totals"],
            nlohmann::json({{"successful", 11}, {"incomplete", 2}, {"errored", 1}, {"total", 14}}));
  expect_near(b["start_time"], testing::kT0, "start_time");
  expect_near(b["end_time"], testing::kT0 + 8, "end_time");

  // Requests per second over the 8 s window: 11, 2, 1 and 14 of them.
  const auto& rps = m["requests_per_second"];
  expect_near(rps["successful"]["mean"], 11.0 / 8, "rps successful");
  expect_near(rps["incomplete"]["mean"], 2.0 / 8, "rps incomplete");
  expect_near(rps["errored"]["mean"], 1.0 / 8, "rps errored");
  expect_near(rps["total"]["mean"], 14.0 / 8, "rps total");
  expect_near(m["request_concurrency"]["total"]["mean"], k.concurrency, "concurrency");

  // Latency: the incomplete ran to the deadline (212/64 and 152/64 s), the errored 20/64 s.
  const auto& latency = m["request_latency"];
  expect_near(latency["successful"]["mean"], k.latency_mean, "latency mean");
  expect_near(latency["successful"]["median"], k.latency_median, "latency median");
  expect_near(latency["successful"]["percentiles"]["p99"], k.latency_p99, "latency p99");
  expect_near(latency["incomplete"]["mean"], (212.0 + 152.0) / 64 / 2, "latency incomplete");
  expect_near(latency["errored"]["mean"], 20.0 / 64, "latency errored");
  expect_near(latency["total"]["mean"], (994.0 + 212 + 152 + 20) / 64 / 14, "latency total");

  // TTFT: the incomplete 312.5 and 187.5 ms; the errored has none (0, as GuideLLM counts it).
  const auto& ttft = m["time_to_first_token_ms"];
  expect_near(ttft["successful"]["mean"], k.ttft_mean, "ttft mean");
  expect_near(ttft["successful"]["median"], k.ttft_median, "ttft median");
  expect_near(ttft["successful"]["percentiles"]["p90"], k.ttft_p90, "ttft p90");
  expect_near(ttft["successful"]["percentiles"]["p99"], k.ttft_p99, "ttft p99");
  EXPECT_EQ(ttft["successful"]["count"], 11);
  expect_near(ttft["incomplete"]["mean"], 250.0, "ttft incomplete mean");
  expect_near(ttft["incomplete"]["median"], 187.5, "ttft incomplete median");
  expect_near(ttft["errored"]["mean"], 0.0, "ttft errored");
  expect_near(ttft["total"]["mean"], (11 * k.ttft_mean + 500.0) / 14, "ttft total");

  // ITL weighted by output tokens - 1: the incomplete 195.3125 ms (x8) and 312.5 ms (x6).
  const auto& itl = m["inter_token_latency_ms"];
  expect_near(itl["successful"]["mean"], k.itl_mean, "itl mean");
  expect_near(itl["successful"]["median"], k.itl_median, "itl median");
  expect_near(itl["successful"]["percentiles"]["p90"], k.itl_p90, "itl p90");
  expect_near(itl["successful"]["percentiles"]["p99"], k.itl_p99, "itl p99");
  EXPECT_EQ(itl["successful"]["count"], 245);
  expect_near(itl["incomplete"]["mean"], (195.3125 * 8 + 312.5 * 6) / 14, "itl incomplete");
  expect_near(itl["total"]["mean"], (k.itl_mean * 245 + 195.3125 * 8 + 312.5 * 6) / 259,
              "itl total");
  EXPECT_EQ(itl["total"]["count"], 259);

  const auto& tpot = m["time_per_output_token_ms"]["successful"];
  expect_near(tpot["mean"], k.tpot_mean, "tpot mean");
  expect_near(tpot["median"], k.tpot_median, "tpot median");
  expect_near(tpot["percentiles"]["p99"], k.tpot_p99, "tpot p99");

  // Output tokens per second from each group's first to last token: 256 tokens over
  // 10/64..363/64 s, 16 over 320/64..492/64 s, all 272 over 10/64..492/64 s.
  const auto& out_tps = m["output_tokens_per_second"];
  expect_near(out_tps["successful"]["mean"], 256.0 / (353.0 / 64), "output tok/s successful");
  expect_near(out_tps["incomplete"]["mean"], 16.0 / (172.0 / 64), "output tok/s incomplete");
  expect_near(out_tps["total"]["mean"], k.output_tokens_per_second, "output tok/s total");
  expect_near(m["prompt_tokens_per_second"]["total"]["mean"], k.prompt_tokens_per_second,
              "prompt tok/s total");
  expect_near(m["tokens_per_second"]["total"]["mean"], k.tokens_per_second, "tok/s total");
  expect_near(m["prompt_token_count"]["successful"]["mean"], k.prompt_tokens_mean, "prompt mean");
  expect_near(m["output_token_count"]["successful"]["mean"], k.output_tokens_mean, "output mean");
  expect_near(m["output_token_count"]["total"]["mean"], 272.0 / 14, "output mean total");
}

TEST(JsonGroups, RequestsAreListedUnderTheirStatusWithTheirOwnNumbers) {
  const auto b = written_benchmark();
  const auto& requests = b["requests"];
  ASSERT_EQ(requests["successful"].size(), 11u);
  ASSERT_EQ(requests["incomplete"].size(), 2u);
  ASSERT_EQ(requests["errored"].size(), 1u);
  // The tenth successful request: started at 152/64 s, TTFT 11/64 s, 5 tokens over 200/64 s.
  const auto& r = requests["successful"][9];
  EXPECT_EQ(r["request_id"], "4-9-0");
  EXPECT_EQ(r["info"]["status"], "completed");
  expect_near(r["time_to_first_token_ms"], 171.875, "ttft");
  expect_near(r["inter_token_latency_ms"], 781.25, "itl");
  expect_near(r["time_per_output_token_ms"], 659.375, "tpot");
  expect_near(r["request_latency"], 213.0 / 64, "latency");
  EXPECT_EQ(r["prompt_tokens"], 190);
  EXPECT_EQ(r["output_tokens"], 5);
  EXPECT_EQ(r["total_tokens"], 195);
  expect_near(r["info"]["timings"]["request_start"], testing::kT0 + 152.0 / 64, "start");
  expect_near(r["info"]["timings"]["first_token_iteration"], testing::kT0 + 163.0 / 64, "first");
  expect_near(r["info"]["timings"]["last_token_iteration"], testing::kT0 + 363.0 / 64, "last");
  expect_near(r["info"]["timings"]["request_end"], testing::kT0 + 365.0 / 64, "end");
  const auto& cut = requests["incomplete"][1];
  EXPECT_EQ(cut["info"]["status"], "cancelled");
  expect_near(cut["time_to_first_token_ms"], 187.5, "incomplete ttft");
  expect_near(cut["request_latency"], 152.0 / 64, "incomplete latency");
  const auto& failed = requests["errored"][0];
  EXPECT_EQ(failed["info"]["status"], "errored");
  EXPECT_EQ(failed["info"]["error"], "HTTP 500: engine failed");
  EXPECT_TRUE(failed["time_to_first_token_ms"].is_null());
  expect_near(failed["request_latency"], 20.0 / 64, "errored latency");
}

}  // namespace
}  // namespace kvtier::bench
