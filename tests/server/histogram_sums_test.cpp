// The request histograms of GET /metrics with the engine's times fixed (timed_engine.h): every
// bucket count and every _sum of TTFT, e2e, queue, prefill, decode, inference and time per
// output token equals the value worked out from the chosen times, so a histogram fed the wrong
// interval fails.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "server/api.h"
#include "server/metrics_text.h"
#include "server/request_metrics.h"
#include "test_responder.h"
#include "timed_engine.h"

namespace kvtier::server::testing {
namespace {

constexpr const char* kLabels = R"(model_name="fake-model",engine="0")";

// Three requests, every phase in its own bucket where the buckets allow. Seconds.
//   A: streamed, "hello" (5 tokens), 4 deltas of 1 token
//   B: not streamed, 30 prompt tokens, 3 deltas of 1, 2, 2 tokens
//   C: streamed, "xy", a single token
const TimedPlan kA = {0.0, 0.0078125, 0.03125, 0.375, {1, 1, 1, 1}, engine::FinishReason::kLength};
const TimedPlan kB = {10.0, 0.0625, 0.625, 2.25, {1, 2, 2}, engine::FinishReason::kStop};
const TimedPlan kC = {20.0, 1.25, 0.125, 0.015625, {1}, engine::FinishReason::kLength};

struct Scraped {
  std::map<std::string, double> buckets;  // le -> cumulative count
  double count = -1, sum = -1;
};

// One histogram family's samples from the exposition text.
Scraped histogram(const std::string& text, const std::string& name) {
  Scraped h;
  std::istringstream in(text);
  std::string line;
  const std::string bucket = name + "_bucket{" + kLabels + ",le=\"";
  const std::string count = name + "_count{" + std::string(kLabels) + "} ";
  const std::string sum = name + "_sum{" + std::string(kLabels) + "} ";
  while (std::getline(in, line)) {
    if (line.starts_with(bucket)) {
      const size_t quote = line.find('"', bucket.size());
      h.buckets[line.substr(bucket.size(), quote - bucket.size())] =
          std::stod(line.substr(line.find(' ', quote) + 1));
    } else if (line.starts_with(count)) {
      h.count = std::stod(line.substr(count.size()));
    } else if (line.starts_with(sum)) {
      h.sum = std::stod(line.substr(sum.size()));
    }
  }
  EXPECT_FALSE(h.buckets.empty()) << "no histogram " << name;
  return h;
}

// Every bucket holds the observations at or below its bound; count and sum match them.
void expect_histogram(const std::string& text, const std::string& name,
                      const std::vector<double>& bounds, const std::vector<double>& observed,
                      double sum) {
  const Scraped h = histogram(text, name);
  EXPECT_EQ(h.buckets.size(), bounds.size() + 1) << name;
  for (double bound : bounds) {
    double below = 0;
    for (double v : observed) below += v <= bound ? 1 : 0;
    const std::string le = prometheus_number(bound);
    ASSERT_TRUE(h.buckets.count(le)) << name << " le=" << le;
    EXPECT_EQ(h.buckets.at(le), below) << name << " le=" << le;
  }
  EXPECT_EQ(h.buckets.at("+Inf"), double(observed.size())) << name;
  EXPECT_EQ(h.count, double(observed.size())) << name;
  EXPECT_EQ(h.sum, sum) << name;  // exact: every time is a multiple of 1/512 s
}

struct Harness {
  Harness()
      : codec(std::make_shared<FakeCodec>()),
        api(engine, codec, config(), [](std::function<void()> task) {
          task();
          return true;
        }) {}
  static ApiConfig config() {
    ApiConfig c;
    c.served_model_names = {"fake-model"};
    return c;
  }
  std::shared_ptr<TestResponder> start(const nlohmann::json& body) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/v1/completions";
    request.body = body.dump();
    auto r = std::make_shared<TestResponder>();
    api.handle(std::move(request), r);
    r->run_posted();
    return r;
  }
  std::string metrics() {
    HttpRequest request;
    request.method = "GET";
    request.target = "/metrics";
    auto r = std::make_shared<TestResponder>();
    api.handle(std::move(request), r);
    r->run_posted();
    EXPECT_EQ(r->status, 200);
    return r->body;
  }

  TimedEngine engine;
  std::shared_ptr<FakeCodec> codec;
  Api api;
};

TEST(HistogramSums, EveryBucketAndSumFollowsTheEnginesTimes) {
  Harness h;
  h.engine.plan(kA);
  h.engine.plan(kB);
  h.engine.plan(kC);
  auto a = h.start({{"prompt", "hello"}, {"max_tokens", 4}, {"stream", true}});
  auto b = h.start({{"prompt", std::string(30, 'p')}, {"max_tokens", 9}});
  auto c = h.start({{"prompt", "xy"}, {"max_tokens", 1}, {"stream", true}});
  h.engine.emit();
  for (auto& r : {a, b, c}) {
    r->run_posted();
    ASSERT_TRUE(r->ended);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  const std::string text = h.metrics();

  // Per request: TTFT = queue + prefill; e2e = queue + prefill + decode; inference = prefill +
  // decode; time per output token = decode / (tokens - 1), 0 for one token.
  expect_histogram(text, "vllm:time_to_first_token_seconds", ttft_buckets(),
                   {0.0390625, 0.6875, 1.375}, 2.1015625);
  expect_histogram(text, "vllm:e2e_request_latency_seconds", request_latency_buckets(),
                   {0.4140625, 2.9375, 1.390625}, 4.7421875);
  expect_histogram(text, "vllm:request_queue_time_seconds", request_latency_buckets(),
                   {0.0078125, 0.0625, 1.25}, 1.3203125);
  expect_histogram(text, "vllm:request_prefill_time_seconds", request_latency_buckets(),
                   {0.03125, 0.625, 0.125}, 0.78125);
  expect_histogram(text, "vllm:request_decode_time_seconds", request_latency_buckets(),
                   {0.375, 2.25, 0.015625}, 2.640625);
  expect_histogram(text, "vllm:request_inference_time_seconds", request_latency_buckets(),
                   {0.40625, 2.875, 0.140625}, 3.421875);
  expect_histogram(text, "vllm:request_time_per_output_token_seconds", inter_token_buckets(),
                   {0.125, 0.5625, 0.0}, 0.6875);
  // Sizes: prompt tokens 5, 30, 2; generated 4, 5, 1; max_tokens 4, 9, 1.
  expect_histogram(text, "vllm:request_prompt_tokens", buckets_1_2_5(256), {5, 30, 2}, 37);
  expect_histogram(text, "vllm:request_generation_tokens", buckets_1_2_5(256), {4, 5, 1}, 10);
  expect_histogram(text, "vllm:request_params_max_tokens", buckets_1_2_5(256), {4, 9, 1}, 14);

  // Inter-token gaps are stamped as deltas reach the server: one per delta after the first
  // (3 + 2 + 0); their lengths are the test's own run time, so only the count is exact.
  const Scraped itl = histogram(text, "vllm:inter_token_latency_seconds");
  EXPECT_EQ(itl.count, 5);
  EXPECT_EQ(itl.buckets.at("+Inf"), 5);
  EXPECT_GE(itl.sum, 0.0);
}

}  // namespace
}  // namespace kvtier::server::testing
