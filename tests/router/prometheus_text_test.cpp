#include <gtest/gtest.h>

#include <cmath>

#include "router/endpoint_metrics.h"
#include "common/prometheus_text.h"

namespace kvtier::router {
namespace {

TEST(PrometheusTextTest, ParsesNamesLabelsValuesAndSkipsComments) {
  auto samples = parse_prometheus_text(
      "# HELP vllm:num_requests_waiting Number of requests waiting.\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_waiting{model_name=\"m\",engine=\"0\"} 3.0\n"
      "\n"
      "plain_metric 42\n"
      "with_ts{a=\"x\"} 1.5e3 1712345678000\r\n"
      "escaped{path=\"C:\\\\dir\",quote=\"say \\\"hi\\\"\",nl=\"a\\nb\",} -2\n"
      "spaces { a = \"1\" , b=\"2\" }   7\n"
      "specials{v=\"nan\"} NaN\n"
      "inf_bucket{le=\"+Inf\"} +Inf\n"
      "neg -Inf\n");
  ASSERT_TRUE(samples) << samples.error().message();
  ASSERT_EQ(samples->size(), 8u);
  const auto& s = *samples;
  EXPECT_EQ(s[0].name, "vllm:num_requests_waiting");
  ASSERT_EQ(s[0].labels.size(), 2u);
  EXPECT_EQ(*s[0].label("model_name"), "m");
  EXPECT_EQ(*s[0].label("engine"), "0");
  EXPECT_EQ(s[0].label("missing"), nullptr);
  EXPECT_DOUBLE_EQ(s[0].value, 3.0);
  EXPECT_EQ(s[1].name, "plain_metric");
  EXPECT_TRUE(s[1].labels.empty());
  EXPECT_DOUBLE_EQ(s[1].value, 42);
  EXPECT_DOUBLE_EQ(s[2].value, 1500);
  EXPECT_EQ(*s[3].label("path"), "C:\\dir");
  EXPECT_EQ(*s[3].label("quote"), "say \"hi\"");
  EXPECT_EQ(*s[3].label("nl"), "a\nb");
  EXPECT_DOUBLE_EQ(s[3].value, -2);
  EXPECT_EQ(*s[4].label("b"), "2");
  EXPECT_DOUBLE_EQ(s[4].value, 7);
  EXPECT_TRUE(std::isnan(s[5].value));
  EXPECT_TRUE(std::isinf(s[6].value) && s[6].value > 0);
  EXPECT_TRUE(std::isinf(s[7].value) && s[7].value < 0);
}

TEST(PrometheusTextTest, MalformedLinesNameTheLine) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const Case& c : {Case{"ok 1\nbad{a=\"1\" 2\n", "line 2"},
                        Case{"m{a=1} 2\n", "'\"' expected"},
                        Case{"m{a=\"unterminated} 2\n", "unterminated"},
                        Case{"m 1.2.3\n", "bad value"},
                        Case{"m\n", "value expected"},
                        Case{"9metric 1\n", "metric name"}}) {
    auto samples = parse_prometheus_text(c.text);
    ASSERT_FALSE(samples) << c.text;
    EXPECT_EQ(samples.error().code(), ErrorCode::kDataLoss);
    EXPECT_NE(samples.error().message().find(c.expect), std::string::npos)
        << samples.error().message();
  }
}

TEST(EndpointMetricsTest, ReadsVllmGaugesAndCacheConfig) {
  auto m = parse_endpoint_metrics(
      "# TYPE vllm:num_requests_running gauge\n"
      "vllm:num_requests_running{engine=\"0\",model_name=\"qwen\"} 4\n"
      "vllm:num_requests_waiting{engine=\"0\",model_name=\"qwen\"} 2\n"
      "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"qwen\"} 0.375\n"
      "vllm:cache_config_info{block_size=\"32\",cache_dtype=\"auto\",num_gpu_blocks=\"1024\","
      "num_cpu_blocks=\"0\"} 1\n"
      "vllm:prefix_cache_hits_total{engine=\"0\",model_name=\"qwen\"} 1e6\n"
      "vllm:time_to_first_token_seconds_bucket{le=\"0.001\"} 0\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_DOUBLE_EQ(m->running, 4);
  EXPECT_DOUBLE_EQ(m->waiting, 2);
  EXPECT_DOUBLE_EQ(m->kv_usage, 0.375);
  EXPECT_EQ(m->block_size, 32);
  EXPECT_EQ(m->num_gpu_blocks, 1024);
}

TEST(EndpointMetricsTest, SumsQueuesOverEnginesAndAveragesUsage) {
  auto m = parse_endpoint_metrics(
      "vllm:num_requests_waiting{engine=\"0\"} 2\n"
      "vllm:num_requests_waiting{engine=\"1\"} 3\n"
      "vllm:kv_cache_usage_perc{engine=\"0\"} 0.2\n"
      "vllm:kv_cache_usage_perc{engine=\"1\"} 0.6\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_DOUBLE_EQ(m->waiting, 5);
  EXPECT_DOUBLE_EQ(m->running, 0);
  EXPECT_NEAR(m->kv_usage, 0.4, 1e-12);
  EXPECT_FALSE(m->block_size.has_value());
}

TEST(EndpointMetricsTest, OlderGpuCacheUsageNameIsAccepted) {
  auto m = parse_endpoint_metrics(
      "vllm:num_requests_waiting 0\nvllm:gpu_cache_usage_perc 0.5\n");
  ASSERT_TRUE(m);
  EXPECT_DOUBLE_EQ(m->kv_usage, 0.5);
}

TEST(EndpointMetricsTest, NonVllmMetricsAreAnError) {
  auto m = parse_endpoint_metrics("process_cpu_seconds_total 12\n");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("vllm:num_requests_waiting"), std::string::npos);
  EXPECT_FALSE(parse_endpoint_metrics("vllm:num_requests_waiting{ 1\n"));
}

TEST(EndpointAddressTest, ParsesUrlsAndRejectsBadOnes) {
  auto a = EndpointAddress::parse("http://127.0.0.1:8001");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8001);
  EXPECT_EQ(a->id(), "127.0.0.1:8001");
  EXPECT_EQ(EndpointAddress::parse("localhost:9/")->id(), "localhost:9");
  auto v6 = EndpointAddress::parse("http://[::1]:8000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->id(), "[::1]:8000");
  for (const char* bad : {"http://host", "http://host:0", "http://host:70000", "https://h:1",
                          "http://h:80/v1", ":80", "http://h:x"}) {
    auto r = EndpointAddress::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace kvtier::router
