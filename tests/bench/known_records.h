#pragma once
// One benchmark made of hand-written request records (times in 1/64 s, exact in binary) and the
// numbers GuideLLM's definitions give for them, worked out by hand: every output of the bench
// module (CSV, console tables, benchmarks.json) and the report that reads it are checked
// against these. Every number differs from every other, and from the same metric's other
// groups and statistics, so a writer or reader that takes the wrong field fails.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_config.h"
#include "bench/bench_report.h"

namespace kvtier::bench::testing {

// The benchmark's window: [kT0, kT0 + 8 s]; no warmup or cooldown.
inline constexpr double kT0 = 1796616000.0;  // 2026-12-07 04:00:00 UTC
inline constexpr double kWindowSeconds = 8.0;

// `ticks` 1/64 s after kT0, every time stretched by `scale` (a power of two keeps it exact).
inline double at64(int ticks, double scale = 1) { return kT0 + scale * ticks / 64.0; }

// 11 successful requests (start, TTFT, first-to-last-token span and tail in 1/64 s; prompt
// and output tokens; text chunks), two cut at the deadline (incomplete) and one errored. With
// `scale`, every time (and the window) is stretched by that factor.
inline std::vector<RequestRecord> known_records(double scale = 1) {
  struct Row {
    int start, ttft, span, tail;
    int64_t prompt, outputs;
    int chunks;
  };
  static constexpr Row kSuccessful[] = {
      {8, 2, 60, 1, 100, 16, 16},   {24, 3, 40, 2, 110, 11, 11},    {40, 4, 90, 1, 120, 31, 16},
      {56, 5, 28, 3, 130, 8, 8},    {72, 6, 120, 1, 140, 41, 21},   {88, 7, 50, 2, 150, 26, 26},
      {104, 8, 64, 1, 160, 33, 17}, {120, 9, 36, 4, 170, 13, 13},   {136, 10, 80, 1, 180, 21, 21},
      {152, 11, 200, 2, 190, 5, 5}, {168, 40, 100, 3, 200, 51, 26},
  };
  static constexpr Row kIncomplete[] = {{300, 20, 100, 0, 210, 9, 9}, {360, 12, 120, 0, 220, 7, 7}};
  std::vector<RequestRecord> records;
  auto add = [&](const Row& row, RequestStatus status) {
    RequestRecord r;
    r.request_id = "4-" + std::to_string(records.size()) + "-0";
    r.conversation_index = static_cast<int64_t>(records.size());
    r.status = status;
    r.scheduled_time = r.dispatch_time = at64(row.start, scale);
    r.request_start = at64(row.start, scale);
    r.first_token = at64(row.start + row.ttft, scale);
    r.last_token = at64(row.start + row.ttft + row.span, scale);
    r.request_end = status == RequestStatus::kIncomplete
                        ? at64(512, scale)  // cut at the deadline
                        : at64(row.start + row.ttft + row.span + row.tail, scale);
    r.finalize_time = *r.request_end;
    r.token_iterations = row.chunks;
    r.request_iterations = row.chunks + 1;
    r.prompt_tokens = row.prompt;
    r.output_tokens = row.outputs;
    records.push_back(r);
  };
  for (const Row& row : kSuccessful) add(row, RequestStatus::kSuccessful);
  for (const Row& row : kIncomplete) add(row, RequestStatus::kIncomplete);
  RequestRecord errored;  // refused after 20/64 s: no tokens, no usage
  errored.request_id = "4-13-0";
  errored.conversation_index = 13;
  errored.status = RequestStatus::kErrored;
  errored.scheduled_time = errored.dispatch_time = at64(400, scale);
  errored.request_start = at64(400, scale);
  errored.request_end = errored.finalize_time = at64(420, scale);
  errored.request_iterations = 0;
  errored.error = "HTTP 500: engine failed";
  records.push_back(errored);
  return records;
}

// What the records give, by GuideLLM's definitions (bench/metrics.h). Latency and TTFT weigh
// each successful request once; ITL by output tokens - 1; TPOT by output tokens; a percentile
// is the smallest value whose cumulative weight reaches it.
struct KnownNumbers {
  int64_t successful = 11, incomplete = 2, errored = 1;
  double duration = kWindowSeconds;
  // 11 / 8 s; the total group would be 14 / 8.
  double requests_per_second = 1.375;
  // Every request's time in flight (21.53125 s) over the 8 s window.
  double concurrency = 2.69140625;
  // 2,080 prompt tokens from the first first-token (10/64 s) to the error at 420/64 s.
  double prompt_tokens_per_second = 2080.0 / (410.0 / 64.0);
  // 272 output tokens from 10/64 s to the last token at 492/64 s.
  double output_tokens_per_second = 272.0 / (482.0 / 64.0);
  // 2,352 tokens over the same 482/64 s.
  double tokens_per_second = 2352.0 / (482.0 / 64.0);
  // Latency (s): 11 values from 36/64 to 213/64; the mean is 994/64/11.
  double latency_mean = 994.0 / 64.0 / 11.0, latency_median = 73.0 / 64.0,
         latency_p99 = 213.0 / 64.0;
  // TTFT (ms): 2..11/64 s and 40/64 s.
  double ttft_mean = 1000.0 * 105.0 / 64.0 / 11.0, ttft_median = 109.375, ttft_p90 = 171.875,
         ttft_p99 = 625.0;
  // ITL (ms): 31.25 (weight 107), 46.875 (82), 62.5 (52), 781.25 (4).
  double itl_mean = (31.25 * 107 + 46.875 * 82 + 62.5 * 52 + 781.25 * 4) / 245.0,
         itl_median = 46.875, itl_p90 = 62.5, itl_p99 = 781.25;
  // TPOT (ms): (last token - start) / outputs, weighted by outputs; the mean is
  // 1000 * (sum of last token - start) / 256 tokens.
  double tpot_mean = 1000.0 * (973.0 / 64.0) / 256.0, tpot_median = 1000.0 * (94.0 / 64.0) / 31.0,
         tpot_p99 = 1000.0 * (211.0 / 64.0) / 5.0;
  double prompt_tokens_mean = 150.0, output_tokens_mean = 256.0 / 11.0;
  // 0.07 s of client CPU over 14 requests.
  double client_cpu_ms_per_request = 5.0;
};

// The numbers of known_records(scale): times scaled, rates divided by the scale.
inline KnownNumbers known_numbers(double scale = 1) {
  KnownNumbers k;
  k.duration *= scale;
  for (double* rate : {&k.requests_per_second, &k.prompt_tokens_per_second,
                       &k.output_tokens_per_second, &k.tokens_per_second}) {
    *rate /= scale;
  }
  for (double* time : {&k.latency_mean, &k.latency_median, &k.latency_p99, &k.ttft_mean,
                       &k.ttft_median, &k.ttft_p90, &k.ttft_p99, &k.itl_mean, &k.itl_median,
                       &k.itl_p90, &k.itl_p99, &k.tpot_mean, &k.tpot_median, &k.tpot_p99}) {
    *time *= scale;
  }
  return k;  // concurrency, token counts and client CPU per request do not change
}

// The benchmark as `kvtier bench --profile concurrent --rate 3` would report it (index 4).
inline BenchReport known_report(const BenchConfig& config, double scale = 1) {
  BenchmarkRun run;
  run.strategy.type = StrategyType::kConcurrent;
  run.strategy.streams = 3;
  run.records = known_records(scale);
  run.start_time = kT0;
  run.end_time = kT0 + scale * kWindowSeconds;
  run.end_queuing_time = run.end_time;
  run.end_processing_time = run.end_time;
  run.created_requests = 14;
  run.stop_reason = "max_seconds reached";
  run.stop_constraint = "max_seconds";
  run.peak_in_flight = 3;
  run.client_cpu_seconds = 0.07;
  BenchReport report;
  report.config = config;
  report.run_id = "known-run";
  report.model = "Qwen/Qwen3-0.6B";
  report.processor = "qwen3";
  report.state = RunState::kFinished;
  report.planned = 1;
  report.benchmarks.push_back(make_result(4, std::move(run), config));
  return report;
}

}  // namespace kvtier::bench::testing
