#include "model/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace kvtier::model {
namespace {

TEST(Sampling, TopLogprobsAreSortedNormalizedLogs) {
  std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  auto top = top_logprobs(logits, 3);
  ASSERT_EQ(top.ids, (std::vector<int32_t>{1, 3, 0}));  // tie between 1 and 3: lower id first
  double z = 0;
  for (float v : logits) z += std::exp(double(v));
  for (size_t i = 0; i < top.ids.size(); ++i)
    EXPECT_NEAR(top.logprobs[i], double(logits[top.ids[i]]) - std::log(z), 1e-12);
  EXPECT_EQ(top_logprobs(logits, 99).ids.size(), logits.size());
  EXPECT_TRUE(top_logprobs(logits, 0).ids.empty());
  EXPECT_EQ(argmax(logits), 1);
}

TEST(Sampling, LargeLogitsStayFinite) {
  std::vector<float> logits = {1000.0f, 999.0f, -1000.0f};
  auto top = top_logprobs(logits, 3);
  EXPECT_NEAR(top.logprobs[0], -std::log1p(std::exp(-1.0)), 1e-9);
  EXPECT_TRUE(std::isfinite(top.logprobs[2]));
}

TEST(Sampling, TemperatureDrawsFollowTheDistribution) {
  std::vector<float> logits = {0.0f, std::log(3.0f), -50.0f};  // p = 1/4, 3/4, ~0
  std::mt19937_64 rng(1);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[sample_token(logits, 1.0, rng)]++;
  EXPECT_NEAR(counts[0] / double(n), 0.25, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.75, 0.02);
  EXPECT_EQ(counts[2], 0);
  // Low temperature sharpens towards the argmax; zero is greedy.
  counts.clear();
  for (int i = 0; i < n; ++i) counts[sample_token(logits, 0.25, rng)]++;
  EXPECT_GT(counts[1] / double(n), 0.97);
  EXPECT_EQ(sample_token(logits, 0.0, rng), 1);
  // Same seed, same draws.
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(sample_token(logits, 1.0, a), sample_token(logits, 1.0, b));
}

}  // namespace
}  // namespace kvtier::model
