// Outputs must not depend on how requests were batched, chunked, cached or preempted.
#include <gtest/gtest.h>

#include <random>

#include "engine/engine_test_util.h"

namespace kvtier::engine::testing {
namespace {

struct Case {
  std::string id;
  std::vector<int32_t> prompt;
  SamplingParams params;
};

// 64 requests of mixed lengths; a third share a 21-token prefix, a third a 9-token one.
std::vector<Case> mixed_cases(bool seeded) {
  std::mt19937 rng(1234);
  auto shared_a = random_prompt(rng, 21);
  auto shared_b = random_prompt(rng, 9);
  std::vector<Case> cases;
  for (int i = 0; i < 64; ++i) {
    Case c;
    c.id = fmt::format("r{}", i);
    if (i % 3 == 0) c.prompt = shared_a;
    if (i % 3 == 1) c.prompt = shared_b;
    auto tail = random_prompt(rng, 1 + int32_t(rng() % 40));
    c.prompt.insert(c.prompt.end(), tail.begin(), tail.end());
    c.params = greedy(1 + int32_t(rng() % 24));
    if (seeded) {
      c.params.temperature = 0.9f;
      c.params.top_k = i % 2 ? 20 : 0;
      c.params.top_p = i % 4 < 2 ? 0.9f : 1.0f;
      c.params.seed = uint64_t(1000 + i);
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

using Outputs = std::map<std::string, std::vector<int32_t>>;

Outputs run_batch(TestEngine& t, const std::vector<Case>& cases) {
  for (const auto& c : cases) EXPECT_TRUE(t.submit(c.id, c.prompt, c.params).is_ok());
  t.engine->run_until_idle();
  Outputs out;
  for (const auto& c : cases) {
    Result r = t.outputs.get(c.id);
    EXPECT_EQ(r.finishes, 1) << c.id;
    EXPECT_EQ(r.last.finish_reason, FinishReason::kLength)
        << c.id << " " << r.last.error.to_string();
    EXPECT_EQ(int32_t(r.tokens.size()), c.params.max_tokens) << c.id;
    out[c.id] = r.tokens;
  }
  EXPECT_EQ(t.engine->block_manager().num_free_blocks(), t.engine->block_manager().num_blocks());
  return out;
}

Outputs run_alone(const std::vector<Case>& cases) {
  Outputs out;
  for (const auto& c : cases) {
    auto config = small_config();
    config.enable_prefix_caching = false;
    auto t = make_engine(config);
    auto one = run_batch(*t, {c});
    out[c.id] = one[c.id];
  }
  return out;
}

class EngineInvariants : public ::testing::TestWithParam<bool> {};

TEST_P(EngineInvariants, BatchOf64EqualsEachRunAlone) {
  auto cases = mixed_cases(GetParam());
  auto alone = run_alone(cases);
  auto t = make_engine(small_config());
  EXPECT_EQ(run_batch(*t, cases), alone);
  EXPECT_GT(t->engine->stats().prefix_cache_hits, 0u);
  EXPECT_GT(t->runner->max_batch_seqs, 32);
}

TEST_P(EngineInvariants, WarmPrefixCacheGivesTheSameOutputs) {
  auto cases = mixed_cases(GetParam());
  FakeModelRunner::Options options;
  options.num_blocks = 2048;  // room for every block of both rounds
  auto t = make_engine(small_config(), options);
  auto cold = run_batch(*t, cases);
  const uint64_t hits_before = t->engine->stats().prefix_cache_hits;
  for (auto& c : cases) c.id += "-again";
  auto warm = run_batch(*t, cases);
  for (const auto& [id, tokens] : cold) EXPECT_EQ(warm[id + "-again"], tokens) << id;
  EXPECT_GT(t->engine->stats().prefix_cache_hits, hits_before);
  // Every full prompt block was cached in the first round.
  for (const auto& c : cases) {
    Result r = t->outputs.get(c.id);
    EXPECT_GE(r.last.cached_tokens, (int32_t(c.prompt.size()) / 4 - 1) * 4) << c.id;
  }
}

TEST_P(EngineInvariants, PreemptionInATinyPoolGivesTheSameOutputs) {
  auto cases = mixed_cases(GetParam());
  auto alone = run_alone(cases);
  auto config = small_config();
  config.max_model_len = 88;
  FakeModelRunner::Options options;
  options.num_blocks = 30;  // 120 tokens for 64 requests of up to 85
  auto t = make_engine(config, options);
  EXPECT_EQ(run_batch(*t, cases), alone);
  EXPECT_GT(t->engine->stats().num_preemptions, 0u);
}

TEST_P(EngineInvariants, AnyChunkSizeGivesTheSameOutputs) {
  auto cases = mixed_cases(GetParam());
  auto alone = run_alone(cases);
  for (int32_t budget : {1, 3, 7, 16, 61}) {
    auto config = small_config();
    config.max_num_batched_tokens = budget;
    auto t = make_engine(config);
    EXPECT_EQ(run_batch(*t, cases), alone) << "budget " << budget;
    EXPECT_LE(t->runner->max_batch_tokens, budget);
  }
}

TEST_P(EngineInvariants, WithoutChunkingWholePromptsRunInOneStep) {
  auto cases = mixed_cases(GetParam());
  auto alone = run_alone(cases);
  auto config = small_config();
  config.enable_chunked_prefill = false;
  config.max_num_batched_tokens = 64;
  auto t = make_engine(config);
  int32_t split = 0;
  t->runner->on_forward = [&](const model::ForwardBatch& b) {
    for (const auto& s : b.seqs) split += s.want_logits ? 0 : 1;
  };
  EXPECT_EQ(run_batch(*t, cases), alone);
  EXPECT_EQ(split, 0);
}

TEST_P(EngineInvariants, BlockSizeDoesNotChangeOutputs) {
  auto cases = mixed_cases(GetParam());
  cases.resize(16);
  auto alone = run_alone(cases);
  for (int32_t bs : {1, 16}) {
    auto t = make_engine(small_config(bs));
    EXPECT_EQ(run_batch(*t, cases), alone) << "block size " << bs;
  }
}

INSTANTIATE_TEST_SUITE_P(GreedyAndSeeded, EngineInvariants, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Seeded" : "Greedy"; });

TEST(EngineSeeds, SeededRequestsRepeatAndUnseededDiffer) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.max_tokens = 24;
  p.ignore_eos = true;
  p.seed = 7;
  std::mt19937 rng(5);
  auto prompt = random_prompt(rng, 10);
  auto t = make_engine(small_config());
  ASSERT_TRUE(t->submit("a", prompt, p).is_ok());
  ASSERT_TRUE(t->submit("b", prompt, p).is_ok());
  p.seed = 8;
  ASSERT_TRUE(t->submit("c", prompt, p).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->outputs.get("a").tokens, t->outputs.get("b").tokens);
  EXPECT_NE(t->outputs.get("a").tokens, t->outputs.get("c").tokens);
}

}  // namespace
}  // namespace kvtier::engine::testing
