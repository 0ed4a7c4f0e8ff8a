// Prometheus text types and the openmetrics PMDA's naming rules.
#include <gtest/gtest.h>

#include "common/prometheus_text.h"
#include "monitor/openmetrics_mapper.h"

namespace kvtier::monitor {
namespace {

TEST(PrometheusTypesTest, TypeLinesReachEverySampleOfTheirFamily) {
  auto samples = parse_prometheus_text(
      "# HELP vllm:prompt_tokens_total Prefill tokens.\n"
      "# TYPE vllm:prompt_tokens_total counter\n"
      "vllm:prompt_tokens_total{engine=\"0\"} 5\n"
      "# TYPE vllm:num_preemptions counter\n"  // prometheus_client names the family without _total
      "vllm:num_preemptions_total 1\n"
      "vllm:num_preemptions_created 1.7e9\n"
      "# TYPE ttft histogram\n"
      "ttft_bucket{le=\"0.1\"} 1\nttft_sum 0.5\nttft_count 2\n"
      "# TYPE running gauge\nrunning 3\n"
      "# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_sum 4\nq_count 4\n"
      "untyped_metric 9\n"
      "# TYPE weird nonsense\nweird 1\n");
  ASSERT_TRUE(samples) << samples.error().message();
  std::vector<std::pair<std::string, PrometheusType>> got;
  for (const auto& s : *samples) got.emplace_back(s.name, s.type);
  const std::vector<std::pair<std::string, PrometheusType>> want = {
      {"vllm:prompt_tokens_total", PrometheusType::kCounter},
      {"vllm:num_preemptions_total", PrometheusType::kCounter},
      {"vllm:num_preemptions_created", PrometheusType::kCounter},
      {"ttft_bucket", PrometheusType::kHistogram},
      {"ttft_sum", PrometheusType::kHistogram},
      {"ttft_count", PrometheusType::kHistogram},
      {"running", PrometheusType::kGauge},
      {"q", PrometheusType::kSummary},
      {"q_sum", PrometheusType::kSummary},
      {"q_count", PrometheusType::kSummary},
      {"untyped_metric", PrometheusType::kUntyped},
      {"weird", PrometheusType::kUntyped}};
  EXPECT_EQ(got, want);
  EXPECT_STREQ(prometheus_type_name(PrometheusType::kHistogram), "histogram");
}

TEST(OpenMetricsNamingTest, NamesSemanticsAndUnitsFollowThePmda) {
  struct Case {
    const char* sample;
    PrometheusType type;
    const char* name;
    Semantics sem;
    Units units;
  };
  const Case cases[] = {
      {"vllm:num_requests_running", PrometheusType::kGauge,
       "openmetrics.engine.vllm.num_requests_running", Semantics::kInstant, kNoUnits},
      {"vllm:prompt_tokens_total", PrometheusType::kCounter,
       "openmetrics.engine.vllm.prompt_tokens_total", Semantics::kCounter, kNoUnits},
      {"vllm:e2e_request_latency_seconds_bucket", PrometheusType::kHistogram,
       "openmetrics.engine.vllm.e2e_request_latency_seconds_bucket", Semantics::kCounter, kCount},
      {"vllm:e2e_request_latency_seconds_sum", PrometheusType::kHistogram,
       "openmetrics.engine.vllm.e2e_request_latency_seconds_sum", Semantics::kCounter, kSeconds},
      {"vllm:e2e_request_latency_seconds_count", PrometheusType::kHistogram,
       "openmetrics.engine.vllm.e2e_request_latency_seconds_count", Semantics::kCounter, kCount},
      // Untyped: the PMDA's name heuristics alone.
      {"kv_offload_total_bytes", PrometheusType::kUntyped,
       "openmetrics.engine.kv_offload_total_bytes", Semantics::kCounter, kBytes},
      {"process_cpu_seconds", PrometheusType::kUntyped,
       "openmetrics.engine.process_cpu_seconds", Semantics::kInstant, kSeconds},
      {"gc_pause_microseconds", PrometheusType::kGauge, "openmetrics.engine.gc_pause_microseconds",
       Semantics::kInstant, kMicrosec},
  };
  for (const Case& c : cases) {
    const MetricDesc d = openmetrics_desc("engine", 3, 7, c.sample, c.type);
    EXPECT_EQ(d.name, c.name);
    EXPECT_EQ(d.domain, 144);
    EXPECT_EQ(d.cluster, 3);
    EXPECT_EQ(d.item, 7);
    EXPECT_EQ(d.type, ValueType::kDouble);
    EXPECT_EQ(d.semantics, c.sem) << c.sample;
    EXPECT_EQ(d.units.dim_space, c.units.dim_space) << c.sample;
    EXPECT_EQ(d.units.dim_time, c.units.dim_time) << c.sample;
    EXPECT_EQ(d.units.dim_count, c.units.dim_count) << c.sample;
    EXPECT_EQ(d.units.scale_time, c.units.scale_time) << c.sample;
  }
}

TEST(OpenMetricsNamingTest, InstancesAreSortedUnquotedLabelsAfterTheirId) {
  PrometheusSample s;
  s.name = "vllm:num_requests_running";
  s.labels = {{"model_name", "Qwen/Qwen3-0.6B"}, {"engine", "0"}};
  EXPECT_EQ(openmetrics_instance(0, s), "0 engine:0 model_name:Qwen/Qwen3-0.6B");
  s.labels = {{"le", "+Inf"}, {"engine", "1"}};
  EXPECT_EQ(openmetrics_instance(12, s), "12 engine:1 le:+Inf");
  s.labels.clear();
  EXPECT_EQ(openmetrics_instance(0, s), "");
}

}  // namespace
}  // namespace kvtier::monitor
