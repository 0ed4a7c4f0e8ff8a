// import-bench of a kvtier bench result and of a GuideLLM-shaped one, read back with PCP tools.
#include <gtest/gtest.h>

#include "monitor/bench_import.h"
#include "pcp_tools.h"

namespace kvtier::monitor {
namespace {

using namespace testing;

const std::string kFixtures = std::string(KVTIER_SOURCE_DIR) + "/tests/monitor/fixtures/";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(BenchImportTest, KvtierResultsAsLevelAndRequestMetricsAtTheirTimes) {
  TempDir dir;
  const std::string archive = dir / "bench";
  auto stats = import_bench(kFixtures + "kvtier_benchmarks.json", archive);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->levels, 2);
  EXPECT_EQ(stats->requests, 5);
  // Requests end at +2, +3.25 (two: the second 1 us later), +22.5, +24; levels at +10, +30.
  EXPECT_EQ(stats->records, 7);

  ToolResult desc = run_tool("pminfo", "-a " + archive + " -d bench.level.ttft.p99 "
                             "bench.level.requests_per_second bench.request.latency "
                             "bench.request.output_tokens");
  ASSERT_EQ(desc.status, 0) << desc.out;
  EXPECT_TRUE(contains(desc.out, "bench.level.ttft.p99\n    Data Type: double  InDom: 245.0 0x3d400000\n    Semantics: instant  Units: millisec")) << desc.out;
  EXPECT_TRUE(contains(desc.out, "bench.level.requests_per_second\n    Data Type: double  InDom: 245.0 0x3d400000\n    Semantics: instant  Units: count / sec")) << desc.out;
  EXPECT_TRUE(contains(desc.out, "bench.request.latency\n    Data Type: double  InDom: 245.0 0x3d400000\n    Semantics: instant  Units: sec")) << desc.out;
  EXPECT_TRUE(contains(desc.out, "bench.request.output_tokens\n    Data Type: double  InDom: 245.0 0x3d400000\n    Semantics: instant  Units: count")) << desc.out;

  ToolResult dump = run_tool("pmdumplog", "-Z UTC -a " + archive);
  ASSERT_EQ(dump.status, 0) << dump.out;
  // 1765000000 is 2025-12-06 05:46:40 UTC.
  for (const char* expect : {
           "05:46:42.000000 5 metrics",
           "05:46:43.250000 5 metrics",
           "05:46:43.250001 5 metrics",
           "(bench.request.ttft): inst [0 or \"0 concurrent@5\"] value 70",
           "(bench.request.latency): inst [1 or \"1 concurrent@25\"] value 2",
           "(bench.request.prompt_tokens): inst [0 or \"0 concurrent@5\"] value 140",
           "05:46:50.000000 12 metrics",
           "(bench.level.ttft.p99): inst [0 or \"0 concurrent@5\"] value 90",
           "(bench.level.itl.p50): inst [0 or \"0 concurrent@5\"] value 7.2",
           "(bench.level.output_tokens_per_second): inst [1 or \"1 concurrent@25\"] value 1921",
           "(bench.level.successful): inst [1 or \"1 concurrent@25\"] value 2",
           "05:47:10.000000 12 metrics"}) {
    EXPECT_TRUE(contains(dump.out, expect)) << "missing: " << expect << "\nin:\n" << dump.out;
  }
  ToolResult check = run_tool("pmlogcheck", archive);
  EXPECT_EQ(check.status, 0) << check.out;
  ToolResult summary = run_tool("pmlogsummary", "-N " + archive + " bench.level.requests_per_second");
  EXPECT_EQ(summary.status, 0) << summary.out;
  EXPECT_TRUE(contains(summary.out, "bench.level.requests_per_second [\"0 concurrent@5\"]"))
      << summary.out;
}

TEST(BenchImportTest, GuidellmLayout) {
  TempDir dir;
  const std::string archive = dir / "guidellm";
  auto stats = import_bench(kFixtures + "guidellm_benchmarks.json", archive);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->levels, 1);
  EXPECT_EQ(stats->requests, 2);
  ToolResult dump = run_tool("pmdumplog", "-Z UTC -a " + archive);
  ASSERT_EQ(dump.status, 0) << dump.out;
  // 1765100000 is 2025-12-07 09:33:20 UTC.
  for (const char* expect : {"09:33:21.750000 5 metrics",
                             "(bench.request.ttft): inst [0 or \"0 constant@2.5\"] value 40",
                             "(bench.request.output_tokens): inst [0 or \"0 constant@2.5\"] value 80",
                             "09:33:50.000000",
                             "(bench.level.requests_per_second): inst [0 or \"0 constant@2.5\"] value 2.4",
                             "(bench.level.latency.p99): inst [0 or \"0 constant@2.5\"] value 1.4"}) {
    EXPECT_TRUE(contains(dump.out, expect)) << "missing: " << expect << "\nin:\n" << dump.out;
  }
}

TEST(BenchImportTest, BadFilesAreErrorsNamingThem) {
  TempDir dir;
  auto missing = import_bench(dir / "none.json", dir / "a");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(contains(missing.error().message(), dir / "none.json"));
  std::ofstream(dir / "bad.json") << "{\"benchmarks\": [";
  auto bad = import_bench(dir / "bad.json", dir / "b");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(contains(bad.error().message(), "not valid JSON"));
  std::ofstream(dir / "empty.json") << "{\"results\": []}";
  auto empty = import_bench(dir / "empty.json", dir / "c");
  ASSERT_FALSE(empty);
  EXPECT_TRUE(contains(empty.error().message(), "no \"benchmarks\" list"));
  EXPECT_FALSE(std::filesystem::exists(dir / "c.0"));
}

}  // namespace
}  // namespace kvtier::monitor
