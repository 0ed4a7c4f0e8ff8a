#include "common/histogram.h"

#include <gtest/gtest.h>

namespace kvtier {
namespace {

TEST(Histogram, BucketsByUpperBoundInclusive) {
  Histogram h({1.0, 8.0, 16.0});
  for (double v : {0.5, 1.0, 2.0, 8.0, 9.0, 100.0}) h.observe(v);
  auto s = h.snapshot();
  ASSERT_EQ(s.counts.size(), 4u);
  EXPECT_EQ(s.counts[0], 2u);  // 0.5, 1.0 (le="1")
  EXPECT_EQ(s.counts[1], 2u);  // 2, 8
  EXPECT_EQ(s.counts[2], 1u);  // 9
  EXPECT_EQ(s.counts[3], 1u);  // 100 (+Inf)
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 120.5);
}

}  // namespace
}  // namespace kvtier
