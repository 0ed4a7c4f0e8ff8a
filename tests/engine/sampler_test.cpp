#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace kvtier::engine {
namespace {

SamplingState state_for(const SamplingParams& p, std::vector<int32_t> prompt = {},
                        uint64_t seed = 1) {
  SamplingState s;
  s.init(p, prompt, seed, {});
  return s;
}

// Draws `n` tokens with distinct counters and counts them.
std::map<int32_t, int> histogram(const std::vector<float>& logits, const SamplingParams& p, int n) {
  Sampler sampler;
  std::map<int32_t, int> counts;
  SamplingState s = state_for(p);
  for (int i = 0; i < n; ++i) {
    s.seed = uint64_t(i) * 7919u + 13u;
    auto row = logits;
    ++counts[sampler.sample(row, p, s, nullptr)];
  }
  return counts;
}

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  Sampler sampler;
  SamplingParams p;
  p.temperature = 0.0f;
  std::vector<float> logits = {0.1f, 3.0f, -1.0f, 3.0f};
  EXPECT_EQ(sampler.sample(logits, p, state_for(p), nullptr), 1);
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  std::vector<float> logits = {1.0f, 5.0f, 2.0f, 4.0f, 3.0f, 0.0f};
  SamplingParams p;
  p.temperature = 5.0f;  // flat enough that every kept token shows up
  p.top_k = 3;
  auto counts = histogram(logits, p, 3000);
  EXPECT_EQ(std::set<int32_t>({1, 3, 4}), [&] {
    std::set<int32_t> s;
    for (auto [t, c] : counts) s.insert(t);
    return s;
  }());
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.7 keeps the first two (0.5 < 0.7 <= 0.8).
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplingParams p;
  p.top_p = 0.7f;
  auto counts = histogram(logits, p, 4000);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
  // Renormalised: 0.5 / 0.8 = 0.625.
  EXPECT_NEAR(double(counts[0]) / 4000.0, 0.625, 0.04);
}

TEST(Sampler, TopPWidensBeyondItsFirstSortOnFlatDistributions) {
  std::vector<float> logits(1000, 0.0f);
  SamplingParams p;
  p.top_p = 0.5f;
  auto counts = histogram(logits, p, 5000);
  // Half of a uniform vocabulary survives: ~500 distinct tokens, all below the cut.
  EXPECT_GT(counts.size(), 400u);
  EXPECT_LE(counts.rbegin()->first, 499);  // ties keep the lower ids
}

TEST(Sampler, MinPDropsTokensBelowTheFractionOfTheBest) {
  // Relative to the best: 1, 0.5, 0.09, 0.2.
  std::vector<float> logits = {0.0f, std::log(0.5f), std::log(0.09f), std::log(0.2f)};
  SamplingParams p;
  p.min_p = 0.1f;
  auto counts = histogram(logits, p, 4000);
  EXPECT_EQ(counts.count(2), 0u);
  EXPECT_GT(counts[3], 0);
}

TEST(Sampler, TemperatureMatchesTheSoftmax) {
  std::vector<float> logits = {0.0f, 1.0f};
  SamplingParams p;
  p.temperature = 0.5f;  // p(1) = 1 / (1 + e^-2) = 0.881
  auto counts = histogram(logits, p, 6000);
  EXPECT_NEAR(double(counts[1]) / 6000.0, 1.0 / (1.0 + std::exp(-2.0)), 0.02);
}

TEST(Sampler, SameSeedAndCounterSameToken) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(i % 7);
  SamplingParams p;
  p.top_k = 10;
  p.top_p = 0.9f;
  Sampler a, b;
  SamplingState s = state_for(p, {}, 42);
  auto r1 = logits, r2 = logits;
  EXPECT_EQ(a.sample(r1, p, s, nullptr), b.sample(r2, p, s, nullptr));
  EXPECT_NE(uniform_from(42, 0), uniform_from(42, 1));
  EXPECT_NE(uniform_from(42, 0), uniform_from(43, 0));
  for (int i = 0; i < 1000; ++i) {
    const double u = uniform_from(uint64_t(i), 3);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Sampler, RepetitionPenaltyCoversPromptAndOutput) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repetition_penalty = 2.0f;
  SamplingState s = state_for(p, {0});
  s.append(p, 2);
  Sampler sampler;
  // Token 0 (in the prompt): 4 -> 2; token 2 (generated): -1 -> -2; token 1 untouched at 3.
  std::vector<float> logits = {4.0f, 3.0f, -1.0f};
  EXPECT_EQ(sampler.sample(logits, p, s, nullptr), 1);
  EXPECT_FLOAT_EQ(logits[0], 2.0f);
  EXPECT_FLOAT_EQ(logits[2], -2.0f);
}

TEST(Sampler, FrequencyAndPresencePenalisesOnlyGeneratedTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 1.0f;
  SamplingState s = state_for(p, {1});
  s.append(p, 0);
  s.append(p, 0);
  Sampler sampler;
  std::vector<float> logits = {5.0f, 3.5f, 0.0f};
  // Token 0: 5 - 0.5 * 2 - 1 = 3 < 3.5; token 1 is only in the prompt: untouched.
  EXPECT_EQ(sampler.sample(logits, p, s, nullptr), 1);
  EXPECT_FLOAT_EQ(logits[0], 3.0f);
  EXPECT_FLOAT_EQ(logits[1], 3.5f);
}

TEST(Sampler, MinTokensMasksStopTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.min_tokens = 2;
  std::vector<int32_t> stops = {0};
  SamplingState s;
  s.init(p, {}, 1, stops);
  Sampler sampler;
  std::vector<float> logits = {9.0f, 1.0f};
  EXPECT_EQ(sampler.sample(logits, p, s, nullptr), 1);
  s.append(p, 1);
  s.append(p, 1);
  logits = {9.0f, 1.0f};
  EXPECT_EQ(sampler.sample(logits, p, s, nullptr), 0);
}

TEST(Sampler, LogprobsAreLogSoftmaxOfRawLogitsSortedHighestFirst) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logprobs = 3;
  p.repetition_penalty = 10.0f;  // changes the choice, not the reported logprobs
  SamplingState s = state_for(p, {3});
  std::vector<float> logits = {1.0f, 2.0f, 0.5f, 4.0f, -3.0f};
  const std::vector<float> raw = logits;
  double z = 0;
  for (float v : raw) z += std::exp(double(v));
  Sampler sampler;
  TokenLogprob lp;
  const int32_t token = sampler.sample(logits, p, s, &lp);
  EXPECT_EQ(token, 1);  // 4 / 10 = 0.4 < 2
  EXPECT_EQ(lp.token_id, 1);
  EXPECT_NEAR(lp.logprob, 2.0 - std::log(z), 1e-5);
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].first, 3);
  EXPECT_EQ(lp.top[1].first, 1);
  EXPECT_EQ(lp.top[2].first, 0);
  EXPECT_NEAR(lp.top[0].second, 4.0 - std::log(z), 1e-5);
  EXPECT_GE(lp.top[0].second, lp.top[1].second);
  EXPECT_GE(lp.top[1].second, lp.top[2].second);
}

TEST(Sampler, ZeroLogprobsGiveOnlyTheChosenToken) {
  SamplingParams p;
  p.logprobs = 0;
  p.seed = 3;
  SamplingState s = state_for(p);
  std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  Sampler sampler;
  TokenLogprob lp;
  const int32_t token = sampler.sample(logits, p, s, &lp);
  EXPECT_EQ(lp.token_id, token);
  EXPECT_TRUE(lp.top.empty());
  EXPECT_NEAR(lp.logprob, std::log(0.25), 1e-5);
}

TEST(Sampler, AllowedTokenIdsGreedyTakesTheBestAllowedId) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler sampler;
  const std::vector<float> row = {5.0f, 1.0f, 3.0f, 4.0f, 2.0f};
  std::vector<float> logits = row;
  EXPECT_EQ(sampler.sample(logits, p, state_for(p), nullptr), 0);
  p.allowed_token_ids = {4, 1, 2};
  logits = row;
  EXPECT_EQ(sampler.sample(logits, p, state_for(p), nullptr), 2);
  // Everything else is -inf; the allowed ids keep their values.
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(logits, (std::vector<float>{-inf, 1.0f, 3.0f, -inf, 2.0f}));
}

TEST(Sampler, AllowedTokenIdsRandomDrawsOnlyAllowedIdsInTheirProportions) {
  // The disallowed ids carry almost all of the mass.
  const std::vector<float> logits = {8.0f, 0.0f, 8.0f, 1.0f, 8.0f};
  SamplingParams p;
  p.allowed_token_ids = {1, 3};
  auto counts = histogram(logits, p, 6000);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[1], 0);
  // Renormalised over the allowed ids: p(3) = e / (1 + e).
  EXPECT_NEAR(double(counts[3]) / 6000.0, std::exp(1.0) / (1.0 + std::exp(1.0)), 0.02);
  p.top_k = 1;  // top_k counts among the allowed ids
  counts = histogram(logits, p, 200);
  EXPECT_EQ(counts, (std::map<int32_t, int>{{3, 200}}));
}

TEST(Sampler, AllowedTokenIdsLeaveLogprobsRaw) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logprobs = 2;
  p.allowed_token_ids = {1};
  std::vector<float> logits = {3.0f, 1.0f, 2.0f};
  double z = 0;
  for (float v : logits) z += std::exp(double(v));
  Sampler sampler;
  TokenLogprob lp;
  EXPECT_EQ(sampler.sample(logits, p, state_for(p), &lp), 1);
  EXPECT_EQ(lp.token_id, 1);
  EXPECT_NEAR(lp.logprob, 1.0 - std::log(z), 1e-5);
  // vLLM's raw logprobs: the top list is that of the unmasked row.
  ASSERT_EQ(lp.top.size(), 2u);
  EXPECT_EQ(lp.top[0].first, 0);
  EXPECT_EQ(lp.top[1].first, 2);
}

TEST(Sampler, SingleTokenBadWordIsNeverSampled) {
  const std::vector<float> row = {1.0f, 6.0f, 5.0f, 0.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  p.bad_words_token_ids = {{1}};
  Sampler sampler;
  SamplingState s = state_for(p);
  for (int step = 0; step < 3; ++step) {
    std::vector<float> logits = row;
    EXPECT_EQ(sampler.sample(logits, p, s, nullptr), 2) << "step " << step;
    s.append(p, 2);
  }
  SamplingParams random;
  random.temperature = 2.0f;
  random.bad_words_token_ids = {{1}};
  auto counts = histogram(row, random, 2000);
  EXPECT_EQ(counts.count(1), 0u);
  EXPECT_GT(counts[2], 0);
  EXPECT_GT(counts[0], 0);
}

TEST(Sampler, MultiTokenBadWordBansItsLastTokenOnlyAfterItsPrefix) {
  const std::vector<float> row = {0.0f, 1.0f, 9.0f, 5.0f, 2.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  p.bad_words_token_ids = {{4, 1, 2}};
  Sampler sampler;
  auto next = [&](const SamplingState& s) {
    std::vector<float> logits = row;
    return sampler.sample(logits, p, s, nullptr);
  };
  // The prompt ends with the prefix, but only generated tokens count (as in vLLM).
  SamplingState s = state_for(p, {4, 1});
  EXPECT_EQ(next(s), 2);
  s.append(p, 4);
  EXPECT_EQ(next(s), 2);  // half the prefix
  s.append(p, 1);
  EXPECT_EQ(next(s), 3);  // the output ends with 4 1: 2 is banned
  s.append(p, 3);
  EXPECT_EQ(next(s), 2);
  s.append(p, 1);
  EXPECT_EQ(next(s), 2);  // ends with 3 1, not 4 1
  EXPECT_EQ(s.output_ids, (std::vector<int32_t>{4, 1, 3, 1}));

  // Random sampling too: after the prefix the banned token never comes.
  SamplingParams random;
  random.temperature = 1.0f;
  random.bad_words_token_ids = {{0, 2}};
  std::map<int32_t, int> after_prefix;
  for (int i = 0; i < 1000; ++i) {
    SamplingState r = state_for(random, {}, uint64_t(i) + 1);
    r.append(random, 0);
    std::vector<float> logits = row;
    ++after_prefix[sampler.sample(logits, random, r, nullptr)];
  }
  EXPECT_EQ(after_prefix.count(2), 0u);
  EXPECT_GT(after_prefix[3], 0);
}

}  // namespace
}  // namespace kvtier::engine
