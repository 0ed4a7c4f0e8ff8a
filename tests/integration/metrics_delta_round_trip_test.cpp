// Engine counters -> the server's /metrics text -> the eval's metrics_delta (after minus before,
// summed over engines) -> the report's tier counters. Every counter has its own value, so a
// name written, read or mapped to the wrong field fails.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eval/metrics_delta.h"
#include "report/tier_counters.h"
#include "server/metrics_text.h"
#include "server/request_metrics.h"

namespace kvtier {
namespace {

struct Counters {
  uint64_t prompt, generation, queries, hits, external_queries, external_hits, preemptions;
  uint64_t bytes_to_cpu, bytes_to_gpu;
  double seconds_to_cpu, seconds_to_gpu;
};

// GET /metrics of an engine whose counters stand at `c`.
std::string metrics_text(const Counters& c) {
  server::MetricsContext context;
  context.model_name = "Qwen/Qwen3-0.6B";
  context.info.model_name = "Qwen/Qwen3-0.6B";
  context.info.max_model_len = 4096;
  context.requests = server::RequestMetrics(4096).snapshot();
  engine::EngineStats& s = context.stats;
  s.prompt_tokens = c.prompt;
  s.generation_tokens = c.generation;
  s.prefix_cache_queries = c.queries;
  s.prefix_cache_hits = c.hits;
  s.external_prefix_cache_queries = c.external_queries;
  s.external_prefix_cache_hits = c.external_hits;
  s.num_preemptions = c.preemptions;
  s.transfers["GPU_to_CPU"] = {c.bytes_to_cpu, c.seconds_to_cpu, 10, 1};
  s.transfers["CPU_to_GPU"] = {c.bytes_to_gpu, c.seconds_to_gpu, 3, 2};
  return server::render_metrics(context);
}

TEST(MetricsDeltaRoundTrip, TierCountersFollowTheEnginesCounters) {
  // Two engines; the second started from zero.
  const Counters before1 = {1000, 200,           1000,          300, 700, 150,
                            1,    4'000'000'000, 1'000'000'000, 2.0, 0.25};
  const Counters after1 = {9000, 1200,           8800,          3300, 5700, 2150,
                           4,    20'000'000'000, 3'000'000'000, 6.0,  0.75};
  const Counters before2 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0};
  const Counters after2 = {3000, 400,           3000,          700, 2300, 850,
                           2,    6'000'000'000, 2'500'000'000, 1.5, 0.25};
  const nlohmann::json delta = eval::metrics_delta({metrics_text(before1), metrics_text(before2)},
                                                   {metrics_text(after1), metrics_text(after2)});
  ASSERT_TRUE(delta.is_object()) << delta.dump();
  // After minus before, summed over the two engines.
  EXPECT_EQ(delta["prompt_tokens"], 8000 + 3000);
  EXPECT_EQ(delta["generation_tokens"], 1000 + 400);
  EXPECT_EQ(delta["prefix_cache_queries"], 7800 + 3000);
  EXPECT_EQ(delta["prefix_cache_hits"], 3000 + 700);
  EXPECT_EQ(delta["external_prefix_cache_queries"], 5000 + 2300);
  EXPECT_EQ(delta["external_prefix_cache_hits"], 2000 + 850);
  EXPECT_EQ(delta["num_preemptions"], 3 + 2);
  EXPECT_EQ(delta["kv_offload_bytes"]["GPU_to_CPU"], 16'000'000'000 + 6'000'000'000);
  EXPECT_EQ(delta["kv_offload_bytes"]["CPU_to_GPU"], 2'000'000'000 + 2'500'000'000);
  EXPECT_DOUBLE_EQ(delta["kv_offload_seconds"]["GPU_to_CPU"].get<double>(), 4.0 + 1.5);
  EXPECT_DOUBLE_EQ(delta["kv_offload_seconds"]["CPU_to_GPU"].get<double>(), 0.5 + 0.25);

  auto parsed = report::parse_metrics_delta(delta, "cell.json");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  const auto tiers = report::summarize_tiers({*parsed});
  ASSERT_TRUE(tiers.has_value());
  EXPECT_EQ(tiers->cells, 1);
  // Shares of the 10,800 prompt tokens looked up: 3,700 GPU hits, 2,850 CPU-tier hits.
  EXPECT_DOUBLE_EQ(tiers->gpu_hit_percent.mean, 100.0 * 3700 / 10800);
  EXPECT_DOUBLE_EQ(tiers->cpu_hit_percent.mean, 100.0 * 2850 / 10800);
  EXPECT_NEAR(tiers->computed_percent.mean, 100.0 * (10800 - 3700 - 2850) / 10800, 1e-12);
  EXPECT_DOUBLE_EQ(tiers->preemptions.mean, 5);
  EXPECT_DOUBLE_EQ(tiers->gb_to_cpu.mean, 22.0);
  EXPECT_DOUBLE_EQ(tiers->gb_to_gpu.mean, 4.5);
  EXPECT_DOUBLE_EQ(tiers->gbps_to_cpu.mean, 22.0 / 5.5);
  EXPECT_DOUBLE_EQ(tiers->gbps_to_gpu.mean, 4.5 / 0.75);
}

}  // namespace
}  // namespace kvtier
