// Prometheus text types and the openmetrics PMDA's naming rules.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "common/prometheus_text.h"
#include "monitor/archive_writer.h"
#include "monitor/openmetrics_mapper.h"
#include "pcp_tools.h"

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

TEST(OpenMetricsSourceTest, CapsRepeatsAndUnnameableSamplesAreSkippedNotFatal) {
  testing::TempDir dir;
  auto w = ArchiveWriter::create(dir / "caps");
  ASSERT_TRUE(w) << w.error().message();
  OpenMetricsSource source("big", 0);
  std::string body;
  for (size_t i = 0; i < kMaxMetricsPerSource + 3; ++i) body += fmt::format("m{} {}\n", i, i);
  for (size_t i = 0; i < kMaxInstancesPerMetric + 2; ++i) {
    body += fmt::format("m0_labelled{{k=\"{}\"}} 1\n", i);  // a new metric: already over the cap
  }
  size_t skipped = 0;
  ASSERT_TRUE(source.put(**w, body, skipped));
  EXPECT_EQ(skipped, 3 + kMaxInstancesPerMetric + 2);
  ASSERT_TRUE((*w)->write(1765000000));

  OpenMetricsSource labelled("lab", 1);
  body.clear();
  for (size_t i = 0; i < kMaxInstancesPerMetric + 2; ++i) body += fmt::format("x{{k=\"{}\"}} 1\n", i);
  body += "x{k=\"0\"} 2\n";           // repeated in one body: the first value stands
  body += "x 3\n";                      // labels gone: not representable
  body += "y:_bad 1\n";                 // "y._bad": not a PCP name
  ASSERT_TRUE(labelled.put(**w, body, skipped));
  EXPECT_EQ(skipped, 2u + 1 + 1 + 1);
  ASSERT_TRUE((*w)->write(1765000001));
  // Garbage is an error and puts nothing.
  EXPECT_FALSE(labelled.put(**w, "x{k=\"1\" 1\n", skipped));
  ASSERT_TRUE((*w)->finish());

  testing::ToolResult r = testing::run_tool("pminfo", "-a " + dir / "caps" + " openmetrics");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), long(kMaxMetricsPerSource) + 1);
  testing::ToolResult x = testing::run_tool("pminfo", "-a " + dir / "caps" + " -f openmetrics.lab.x");
  EXPECT_NE(x.out.find("inst [0 or \"0 k:0\"] value 1\n"), std::string::npos) << x.out.substr(0, 300);
  EXPECT_NE(x.out.find(fmt::format("inst [{0} or \"{0} k:{0}\"]", kMaxInstancesPerMetric - 1)),
            std::string::npos);
  EXPECT_EQ(x.out.find(fmt::format("\"{0} k:{0}\"", kMaxInstancesPerMetric)), std::string::npos);
}

}  // namespace
}  // namespace kvtier::monitor
