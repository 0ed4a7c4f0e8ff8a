#include "bench/metrics.h"

#include <gtest/gtest.h>

namespace kvtier::bench {
namespace {

RequestRecord make(double start, double first, double last, double end, int64_t prompt,
                   int64_t output, int iterations, RequestStatus status) {
  RequestRecord r;
  r.status = status;
  r.scheduled_time = start;
  r.request_start = start;
  r.first_token = first;
  r.last_token = last;
  r.request_end = end;
  r.prompt_tokens = prompt;
  r.output_tokens = output;
  r.token_iterations = iterations;
  r.request_iterations = iterations + 1;
  return r;
}

// A: 5 tokens, B: 8 tokens (both successful), C: cut at the deadline after 4 tokens.
std::vector<RequestRecord> three_requests() {
  return {make(100.0, 100.1, 100.5, 100.5, 10, 5, 5, RequestStatus::kSuccessful),
          make(100.2, 100.5, 101.9, 101.9, 20, 8, 8, RequestStatus::kSuccessful),
          make(101.0, 101.5, 101.8, 102.0, 30, 4, 4, RequestStatus::kIncomplete)};
}

TEST(Metrics, PerRequestDefinitions) {
  auto r = three_requests();
  EXPECT_NEAR(*r[0].latency(), 0.5, 1e-9);
  EXPECT_NEAR(*r[0].time_to_first_token_ms(), 100.0, 1e-6);
  EXPECT_NEAR(*r[0].inter_token_latency_ms(), 100.0, 1e-6);    // 0.4 s / (5 - 1)
  EXPECT_NEAR(*r[0].time_per_output_token_ms(), 100.0, 1e-6);  // 0.5 s / 5
  EXPECT_NEAR(*r[1].inter_token_latency_ms(), 200.0, 1e-6);    // 1.4 s / 7
  EXPECT_NEAR(*r[1].time_per_output_token_ms(), 212.5, 1e-6);  // 1.7 s / 8
  RequestRecord one = make(0, 0.2, 0.2, 0.3, 1, 1, 1, RequestStatus::kSuccessful);
  EXPECT_FALSE(one.inter_token_latency_ms().has_value());  // needs two tokens
  // Without usage, each text chunk counts as one token.
  RequestRecord no_usage = make(0, 0.1, 0.4, 0.4, 0, 0, 4, RequestStatus::kSuccessful);
  no_usage.output_tokens.reset();
  EXPECT_EQ(*no_usage.output_token_count(), 4);
  EXPECT_NEAR(*no_usage.inter_token_latency_ms(), 100.0, 1e-6);
}

TEST(Metrics, AggregatesMatchHandComputedValues) {
  auto records = three_requests();
  MeasureWindow w{100.0, 100.0, 102.0, 102.0};
  auto m = compile_metrics(requests_in_window(records, w), w);
  EXPECT_EQ(m.successful, 2);
  EXPECT_EQ(m.incomplete, 1);
  EXPECT_EQ(m.errored, 0);

  // TTFT: one weight per request.
  EXPECT_NEAR(m.time_to_first_token_ms.successful.mean, 200.0, 1e-6);
  EXPECT_NEAR(m.time_to_first_token_ms.successful.median, 100.0, 1e-6);
  // ITL weighted by output - 1: (100 * 4 + 200 * 7) / 11.
  EXPECT_NEAR(m.inter_token_latency_ms.successful.mean, 1800.0 / 11.0, 1e-6);
  EXPECT_NEAR(m.inter_token_latency_ms.successful.median, 200.0, 1e-6);
  EXPECT_EQ(m.inter_token_latency_ms.successful.count, 11);
  // TPOT weighted by output tokens: (100 * 5 + 212.5 * 8) / 13.
  EXPECT_NEAR(m.time_per_output_token_ms.successful.mean, 2200.0 / 13.0, 1e-6);
  EXPECT_NEAR(m.request_latency.successful.mean, 1.1, 1e-9);
  EXPECT_NEAR(m.request_latency.successful.max, 1.7, 1e-9);
  EXPECT_NEAR(m.request_latency.incomplete.mean, 1.0, 1e-9);
  EXPECT_NEAR(m.request_latency.total.mean, (0.5 + 1.7 + 1.0) / 3, 1e-9);
  EXPECT_DOUBLE_EQ(m.output_token_count.total.total_sum, 17.0);
  EXPECT_DOUBLE_EQ(m.prompt_token_count.successful.mean, 15.0);

  // Two successful completions in a 2 s window.
  EXPECT_NEAR(m.requests_per_second.successful.mean, 1.0, 1e-9);
  EXPECT_EQ(m.requests_per_second.successful.count, 2);
  EXPECT_NEAR(m.requests_per_second.total.mean, 1.5, 1e-9);  // C ends at the window's end
  // Concurrency: busy 0.5 + 1.7 + 1.0 s within 2 s.
  EXPECT_NEAR(m.request_concurrency.total.mean, 3.2 / 2.0, 1e-9);
  EXPECT_NEAR(m.request_concurrency.total.max, 2.0, 1e-9);
  // Output tokens per second span first to last token: 17 tokens in 1.8 s (cut tokens count).
  EXPECT_NEAR(m.output_tokens_per_second.total.mean, 17.0 / 1.8, 1e-6);
  EXPECT_NEAR(m.output_tokens_per_second.successful.mean, 13.0 / 1.8, 1e-6);
  // vLLM-style chunk gaps: (0.4 / 4 * 4 + 1.4 / 7 * 7 + 0.3 / 3 * 3) s over 14 gaps.
  EXPECT_NEAR(m.inter_chunk_latency_ms.total.mean, 1000.0 * 2.1 / 14.0, 1e-6);
}

TEST(Metrics, ErroredRequestsWithoutTokensCountAsZero) {
  std::vector<RequestRecord> records = {
      make(0.0, 0.1, 0.3, 0.3, 4, 3, 3, RequestStatus::kSuccessful)};
  RequestRecord failed;
  failed.status = RequestStatus::kErrored;
  failed.request_start = 0.1;
  failed.request_end = 0.2;
  failed.error = "HTTP 500";
  records.push_back(failed);
  MeasureWindow w{0.0, 0.0, 1.0, 1.0};
  auto m = compile_metrics(requests_in_window(records, w), w);
  EXPECT_EQ(m.errored, 1);
  EXPECT_NEAR(m.time_to_first_token_ms.errored.mean, 0.0, 1e-12);
  EXPECT_NEAR(m.time_to_first_token_ms.total.mean, 50.0, 1e-6);  // (100 + 0) / 2
  EXPECT_NEAR(m.request_latency.errored.mean, 0.1, 1e-9);
}

TEST(Metrics, WarmupAndCooldownByDuration) {
  auto records = three_requests();
  PhaseSpec warmup, cooldown;
  warmup.percent = 0.25;  // of 2 s: measuring starts at 100.5
  cooldown.value = 1.0;   // 1 s before the 2 s end: measuring stops at 101.0
  auto w = measure_window(records, 100.0, 102.0, warmup, cooldown, 2.0, std::nullopt);
  EXPECT_DOUBLE_EQ(w.measure_start, 100.5);
  EXPECT_DOUBLE_EQ(w.measure_end, 101.0);
  auto in = requests_in_window(records, w);
  ASSERT_EQ(in.size(), 3u);  // A ends at 100.5, C starts at 101.0: both touch the window
  PhaseSpec long_warmup;
  long_warmup.value = 1.2;
  auto w2 = measure_window(records, 100.0, 102.0, long_warmup, PhaseSpec{}, 2.0, std::nullopt);
  auto in2 = requests_in_window(records, w2);
  ASSERT_EQ(in2.size(), 2u);  // A ended before 101.2
  EXPECT_EQ(in2[0], &records[1]);
}

TEST(Metrics, WarmupAndCooldownByRequests) {
  auto records = three_requests();
  PhaseSpec warmup, cooldown;
  warmup.value = 1;  // only --max-requests bounds it: one request
  cooldown.value = 1;
  auto w = measure_window(records, 100.0, 102.0, warmup, cooldown, std::nullopt, 3);
  EXPECT_DOUBLE_EQ(w.measure_start, 100.2);  // the second request's start
  EXPECT_DOUBLE_EQ(w.measure_end, 101.9);    // the second completion: only the last one is out
}

TEST(Metrics, JsonHasGuidellmKeys) {
  auto records = three_requests();
  MeasureWindow w{100.0, 100.0, 102.0, 102.0};
  auto j = compile_metrics(requests_in_window(records, w), w).to_json();
  for (const char* key :
       {"requests_per_second", "request_concurrency", "request_latency", "prompt_token_count",
        "output_token_count", "total_token_count", "time_to_first_token_ms",
        "time_per_output_token_ms", "inter_token_latency_ms", "prompt_tokens_per_second",
        "output_tokens_per_second", "tokens_per_second", "request_totals"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["request_totals"]["total"].get<int>(), 3);
}

}  // namespace
}  // namespace kvtier::bench
