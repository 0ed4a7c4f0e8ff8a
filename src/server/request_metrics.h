#pragma once
// Per-request histograms and counters that vLLM exposes and that the server computes from each
// request's output stream and RequestTimings: TTFT, inter-token latency, time per output token,
// end-to-end, queue, prefill, decode and inference times, prompt and generation sizes, and
// successes by finish reason. Thread-safe: every connection's executor observes, /metrics reads.
#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "common/histogram.h"
#include "engine/request.h"

namespace kvtier::server {

// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py).
std::vector<double> ttft_buckets();
std::vector<double> inter_token_buckets();        // also request_time_per_output_token
std::vector<double> request_latency_buckets();    // e2e, queue, prefill, decode, inference
std::vector<double> iteration_tokens_buckets();
// 1, 2, 5, 10, 20, 50, ... up to max_value (build_1_2_5_buckets).
std::vector<double> buckets_1_2_5(int64_t max_value);

struct FinishedRequest {
  engine::FinishReason reason = engine::FinishReason::kStop;
  double e2e_seconds = 0;
  double queue_seconds = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  double inference_seconds = 0;
  int64_t prompt_tokens = 0;
  int64_t generation_tokens = 0;
  int64_t max_tokens_param = 0;
};

class RequestMetrics {
 public:
  explicit RequestMetrics(int64_t max_model_len);

  void observe_first_token(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token(double seconds) { inter_token_.observe(seconds); }
  void observe_finished(const FinishedRequest& request);

  struct Snapshot {
    HistogramSnapshot ttft, inter_token, time_per_output_token, e2e, queue, prefill, decode,
        inference, prompt_tokens, generation_tokens, max_tokens_param, params_n;
    std::array<uint64_t, 4> success{};  // by FinishReason: stop, length, abort, error
  };
  Snapshot snapshot() const;

 private:
  Histogram ttft_, inter_token_, time_per_output_token_, e2e_, queue_, prefill_, decode_,
      inference_, prompt_tokens_, generation_tokens_, max_tokens_param_, params_n_;
  std::array<std::atomic<uint64_t>, 4> success_{};
};

}  // namespace kvtier::server
