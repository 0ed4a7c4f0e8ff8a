#include "bench/statistics.h"

#include <gtest/gtest.h>

namespace kvtier::bench {
namespace {

TEST(Statistics, UnweightedValues) {
  auto d = summarize_values(std::vector<double>{4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.median, 2.0);  // smallest value whose cumulative probability reaches 0.5
  EXPECT_DOUBLE_EQ(d.mode, 1.0);    // ties: the smallest
  EXPECT_DOUBLE_EQ(d.variance, 1.25);
  EXPECT_NEAR(d.std_dev, 1.118033988749895, 1e-12);
  EXPECT_DOUBLE_EQ(d.min, 1.0);
  EXPECT_DOUBLE_EQ(d.max, 4.0);
  EXPECT_EQ(d.count, 4);
  EXPECT_DOUBLE_EQ(d.total_sum, 10.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p001, 1.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p25, 1.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p75, 3.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p90, 4.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p999, 4.0);
}

TEST(Statistics, WeightedValuesAndDuplicates) {
  // 20 appears twice (weights 1 + 2), so it has 3/4 of the mass.
  auto d = summarize_values(WeightedValues{{20, 1}, {10, 1}, {20, 2}});
  EXPECT_DOUBLE_EQ(d.mean, 17.5);
  EXPECT_DOUBLE_EQ(d.median, 20.0);
  EXPECT_DOUBLE_EQ(d.mode, 20.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p10, 10.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p25, 10.0);
  EXPECT_EQ(d.count, 4);
  EXPECT_DOUBLE_EQ(d.total_sum, 70.0);
  EXPECT_DOUBLE_EQ(d.variance, (7.5 * 7.5 * 1 + 2.5 * 2.5 * 3) / 4);
}

TEST(Statistics, ZeroWeightsAreDropped) {
  auto d = summarize_values(WeightedValues{{5, 0}, {7, 2}});
  EXPECT_DOUBLE_EQ(d.min, 7.0);
  EXPECT_DOUBLE_EQ(d.mean, 7.0);
  EXPECT_EQ(d.count, 2);
}

TEST(Statistics, EmptyIsAllZero) {
  auto d = summarize_values(std::vector<double>{});
  EXPECT_EQ(d.count, 0);
  EXPECT_DOUBLE_EQ(d.mean, 0.0);
  EXPECT_DOUBLE_EQ(d.percentiles.p99, 0.0);
}

TEST(Statistics, RateOverAWindow) {
  // Three events in a 3 s window: each event's rate is 1 over its half-way span.
  auto d = rate_distribution({{0.5, 1}, {1.5, 1}, {2.5, 1}}, 0.0, 3.0);
  EXPECT_DOUBLE_EQ(d.mean, 1.0);
  EXPECT_EQ(d.count, 3);
  EXPECT_DOUBLE_EQ(d.min, 0.0);         // the window edges carry no events
  EXPECT_DOUBLE_EQ(d.max, 1.0 / 0.75);  // 0.5 and 2.5 own 0.75 s each
  // Events outside the window are left out.
  auto clipped = rate_distribution({{0.5, 1}, {1.5, 1}, {9.0, 1}}, 0.0, 2.0);
  EXPECT_EQ(clipped.count, 2);
  EXPECT_DOUBLE_EQ(clipped.mean, 1.0);
}

TEST(Statistics, RateWithoutWindowSpansFirstToLastEvent) {
  // 6 occurrences between t=10 and t=12: 3 per second on average.
  auto d = rate_distribution({{10, 2}, {11, 2}, {12, 2}});
  EXPECT_DOUBLE_EQ(d.mean, 3.0);
  EXPECT_EQ(d.count, 6);
}

TEST(Statistics, CloseEventsMerge) {
  // 50 us apart: one event of weight 2.
  auto d = rate_distribution({{1.0, 1}, {1.00005, 1}, {3.0, 1}});
  EXPECT_EQ(d.count, 3);
  EXPECT_DOUBLE_EQ(d.max, 2.0 / 1.0);  // the merged event owns 1 s
}

TEST(Statistics, Concurrency) {
  // [0,2] and [1,3] in window [0,4]: level 1 for 1 s, 2 for 1 s, 1 for 1 s, 0 for 1 s.
  auto d = concurrency_distribution({{0, 2, 1}, {1, 3, 1}}, 0.0, 4.0);
  EXPECT_DOUBLE_EQ(d.mean, 1.0);
  EXPECT_DOUBLE_EQ(d.median, 1.0);
  EXPECT_DOUBLE_EQ(d.max, 2.0);
  EXPECT_DOUBLE_EQ(d.min, 0.0);
  EXPECT_EQ(d.count, 2);
  // A window starting inside the first interval counts it as already open.
  auto late = concurrency_distribution({{0, 2, 1}, {1, 3, 1}}, 1.5, 3.0);
  EXPECT_DOUBLE_EQ(late.mean, (2 * 0.5 + 1 * 1.0) / 1.5);
  EXPECT_DOUBLE_EQ(late.max, 2.0);
}

TEST(Statistics, StatusJsonLayout) {
  StatusDistribution s;
  s.successful = summarize_values(std::vector<double>{1, 2});
  auto j = to_json(s);
  for (const char* key : {"successful", "incomplete", "errored", "total"}) {
    ASSERT_TRUE(j.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(j["successful"]["mean"].get<double>(), 1.5);
  for (const char* key : {"mean", "median", "mode", "variance", "std_dev", "min", "max", "count",
                          "total_sum", "percentiles"}) {
    EXPECT_TRUE(j["successful"].contains(key)) << key;
  }
  for (const char* key :
       {"p001", "p01", "p05", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "p999"}) {
    EXPECT_TRUE(j["successful"]["percentiles"].contains(key)) << key;
  }
}

}  // namespace
}  // namespace kvtier::bench
