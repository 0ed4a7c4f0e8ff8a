#include "model/offline_generator.h"

#include <gtest/gtest.h>

#include "model_test_util.h"

namespace kvtier::model {
namespace {

using testing::TempDir;

class OfflineGenerator : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_small_checkpoint(dir_.path(), testing::small_config(true), 11);
  }
  std::unique_ptr<ModelRunner> runner(int32_t blocks = 64) {
    RunnerOptions o;
    o.model_dir = dir_.path();
    o.num_gpu_blocks = blocks;
    o.num_threads = 2;
    auto r = create_model_runner(o);
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? std::move(*r) : nullptr;
  }
  TempDir dir_;
};

TEST_F(OfflineGenerator, BatchedGreedyEqualsEachPromptAlone) {
  std::vector<std::vector<int32_t>> prompts = {
      {5},
      {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23},
      std::vector<int32_t>(70, 42)};
  GenerateParams p;
  p.max_tokens = 12;
  p.logprobs = 3;
  p.max_num_batched_tokens = 32;  // forces chunked prefill next to decodes
  auto r = runner();
  auto batched = generate(*r, prompts, p);
  ASSERT_TRUE(batched) << batched.error().to_string();
  ASSERT_EQ(batched->size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto alone = generate(*runner(), {prompts[i]}, p);
    ASSERT_TRUE(alone);
    const auto& b = (*batched)[i];
    EXPECT_EQ(b.prompt_ids, prompts[i]);
    EXPECT_EQ(b.output_ids, (*alone)[0].output_ids) << "prompt " << i;
    ASSERT_EQ(b.logprobs.size(), 12u);
    EXPECT_EQ(b.finish_reason, "length");
    for (size_t s = 0; s < b.logprobs.size(); ++s) {
      EXPECT_EQ(b.logprobs[s].ids[0], b.output_ids[s]);  // greedy picks the top token
      EXPECT_GE(b.logprobs[s].logprobs[0], b.logprobs[s].logprobs[1]);
      EXPECT_NEAR(b.logprobs[s].logprobs[0], (*alone)[0].logprobs[s].logprobs[0], 1e-4);
    }
  }
}

TEST_F(OfflineGenerator, StopsAtStopTokens) {
  auto r = runner();
  GenerateParams p;
  p.max_tokens = 10;
  auto free_run = generate(*r, {{3, 4, 5}}, p);
  ASSERT_TRUE(free_run);
  const auto& ids = (*free_run)[0].output_ids;
  ASSERT_EQ(ids.size(), 10u);
  p.stop_token_ids = {ids[3]};
  auto stopped = generate(*runner(), {{3, 4, 5}}, p);
  ASSERT_TRUE(stopped);
  const auto& out = (*stopped)[0];
  const size_t first = size_t(std::find(ids.begin(), ids.end(), ids[3]) - ids.begin());
  EXPECT_EQ(out.output_ids, std::vector<int32_t>(ids.begin(), ids.begin() + first + 1));
  EXPECT_EQ(out.finish_reason, "stop");
}

TEST_F(OfflineGenerator, SeededSamplingIsReproducible) {
  GenerateParams p;
  p.max_tokens = 16;
  p.temperature = 1.5;
  p.seed = 99;
  std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4, 5, 6}};
  auto a = generate(*runner(), prompts, p);
  auto b = generate(*runner(), prompts, p);
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)[0].output_ids, (*b)[0].output_ids);
  EXPECT_EQ((*a)[1].output_ids, (*b)[1].output_ids);
  p.seed = 100;
  auto c = generate(*runner(), prompts, p);
  ASSERT_TRUE(c);
  EXPECT_NE((*a)[0].output_ids, (*c)[0].output_ids);
  p.temperature = 0.0;
  auto greedy = generate(*runner(), prompts, p);
  ASSERT_TRUE(greedy);
  EXPECT_NE((*a)[0].output_ids, (*greedy)[0].output_ids);
}

TEST_F(OfflineGenerator, RejectsBadRequests) {
  auto r = runner(4);
  GenerateParams p;
  auto e = generate(*r, {{}}, p);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("prompt 0 is empty"), std::string::npos);
  e = generate(*r, {{1, 2}, {1, 300}}, p);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kOutOfRange);
  EXPECT_NE(e.error().message().find("token id 300"), std::string::npos);
  e = generate(*r, {std::vector<int32_t>(60, 1)}, p);  // 60 + 16 tokens need 5 blocks of 16
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kResourceExhausted);
  p.max_tokens = 0;
  e = generate(*r, {{1}}, p);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  p.max_tokens = 2040;
  e = generate(*runner(200), {std::vector<int32_t>(10, 1)}, p);  // beyond 2048 positions
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kOutOfRange);
}

}  // namespace
}  // namespace kvtier::model
