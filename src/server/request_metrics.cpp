#include "server/request_metrics.h"

namespace kvtier::server {

std::vector<double> ttft_buckets() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
          1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
}

std::vector<double> inter_token_buckets() {
  return {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
          0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
}

std::vector<double> request_latency_buckets() {
  return {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
          30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
}

std::vector<double> iteration_tokens_buckets() {
  return {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
}

std::vector<double> buckets_1_2_5(int64_t max_value) {
  std::vector<double> buckets;
  for (int64_t scale = 1;; scale *= 10) {
    for (int64_t m : {1, 2, 5}) {
      if (m * scale > max_value) return buckets;
      buckets.push_back(double(m * scale));
    }
  }
}

RequestMetrics::RequestMetrics(int64_t max_model_len)
    : ttft_(ttft_buckets()),
      inter_token_(inter_token_buckets()),
      time_per_output_token_(inter_token_buckets()),
      e2e_(request_latency_buckets()),
      queue_(request_latency_buckets()),
      prefill_(request_latency_buckets()),
      decode_(request_latency_buckets()),
      inference_(request_latency_buckets()),
      prompt_tokens_(buckets_1_2_5(max_model_len)),
      generation_tokens_(buckets_1_2_5(max_model_len)),
      max_tokens_param_(buckets_1_2_5(max_model_len)),
      params_n_({1, 2, 5, 10, 20}) {}

void RequestMetrics::observe_finished(const FinishedRequest& r) {
  success_[size_t(r.reason)].fetch_add(1, std::memory_order_relaxed);
  e2e_.observe(r.e2e_seconds);
  queue_.observe(r.queue_seconds);
  prefill_.observe(r.prefill_seconds);
  decode_.observe(r.decode_seconds);
  inference_.observe(r.inference_seconds);
  prompt_tokens_.observe(double(r.prompt_tokens));
  generation_tokens_.observe(double(r.generation_tokens));
  // vLLM: decode time over the tokens after the first; 0 for one-token requests.
  time_per_output_token_.observe(
      r.generation_tokens > 1 ? r.decode_seconds / double(r.generation_tokens - 1) : 0.0);
  if (r.max_tokens_param > 0) max_tokens_param_.observe(double(r.max_tokens_param));
  params_n_.observe(1.0);
}

RequestMetrics::Snapshot RequestMetrics::snapshot() const {
  Snapshot s;
  s.ttft = ttft_.snapshot();
  s.inter_token = inter_token_.snapshot();
  s.time_per_output_token = time_per_output_token_.snapshot();
  s.e2e = e2e_.snapshot();
  s.queue = queue_.snapshot();
  s.prefill = prefill_.snapshot();
  s.decode = decode_.snapshot();
  s.inference = inference_.snapshot();
  s.prompt_tokens = prompt_tokens_.snapshot();
  s.generation_tokens = generation_tokens_.snapshot();
  s.max_tokens_param = max_tokens_param_.snapshot();
  s.params_n = params_n_.snapshot();
  for (size_t i = 0; i < success_.size(); ++i) {
    s.success[i] = success_[i].load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace kvtier::server
