#include "engine/stop_conditions.h"

#include <gtest/gtest.h>

namespace kvtier::engine {
namespace {

SamplingParams params(int32_t max_tokens, int32_t min_tokens = 0) {
  SamplingParams p;
  p.max_tokens = max_tokens;
  p.min_tokens = min_tokens;
  return p;
}

TEST(StopConditions, LengthComesFirst) {
  const std::vector<int32_t> eos = {2};
  auto s = check_token_stop(params(3), 2, 3, 10, 100, eos);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, FinishReason::kLength);
  s = check_token_stop(params(50), 5, 3, 100, 100, eos);  // max_model_len reached
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, FinishReason::kLength);
}

TEST(StopConditions, EosStopsUnlessIgnored) {
  const std::vector<int32_t> eos = {2, 7};
  auto p = params(10);
  auto s = check_token_stop(p, 7, 1, 5, 100, eos);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, FinishReason::kStop);
  EXPECT_FALSE(s->stop_token);
  p.ignore_eos = true;
  EXPECT_FALSE(check_token_stop(p, 7, 1, 5, 100, eos));
}

TEST(StopConditions, StopTokenIdsReportTheToken) {
  auto p = params(10);
  p.stop_token_ids = {11};
  auto s = check_token_stop(p, 11, 1, 5, 100, {});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stop_token, 11);
  EXPECT_FALSE(check_token_stop(p, 12, 1, 5, 100, {}));
}

TEST(StopConditions, NothingStopsBeforeMinTokens) {
  const std::vector<int32_t> eos = {2};
  auto p = params(10, 3);
  p.stop_token_ids = {4};
  EXPECT_FALSE(check_token_stop(p, 2, 2, 5, 100, eos));
  EXPECT_FALSE(check_token_stop(p, 4, 2, 5, 100, eos));
  EXPECT_TRUE(check_token_stop(p, 2, 3, 5, 100, eos));
}

}  // namespace
}  // namespace kvtier::engine
