// The CPU runner against Hugging Face transformers (float64) on checkpoints transformers itself
// wrote: tests/fixtures/model/<name>/ holds the checkpoint and fixtures.json, produced by
// tools/reference/make_model_fixtures.py. Greedy ids must agree wherever the reference's top-1
// beats its top-2 by more than 0.05 nats; log-probabilities within 1e-3 (fp32 weights) or 2e-2
// (16-bit weights).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model_runner.h"
#include "model/offline_generator.h"
#include "model/sampling.h"

namespace kvtier::model {
namespace {

constexpr double kMarginNats = 0.05;

struct Case {
  std::vector<int32_t> prompt, output;
  std::vector<std::vector<int32_t>> top_ids;
  std::vector<std::vector<double>> top_logprobs;
};

struct Fixture {
  std::filesystem::path dir;
  std::string weights_dtype;
  std::vector<Case> cases;
};

Fixture load_fixture(const std::string& name) {
  Fixture f;
  f.dir = std::filesystem::path(KVTIER_SOURCE_DIR) / "tests" / "fixtures" / "model" / name;
  std::ifstream in(f.dir / "fixtures.json");
  EXPECT_TRUE(in) << "missing " << (f.dir / "fixtures.json")
                  << " (regenerate with tools/reference/make_model_fixtures.py)";
  if (!in) return f;
  auto j = nlohmann::json::parse(in);
  f.weights_dtype = j.at("weights_dtype").get<std::string>();
  for (const auto& c : j.at("cases")) {
    f.cases.push_back({c.at("prompt_ids").get<std::vector<int32_t>>(),
                       c.at("output_ids").get<std::vector<int32_t>>(),
                       c.at("top_ids").get<std::vector<std::vector<int32_t>>>(),
                       c.at("top_logprobs").get<std::vector<std::vector<double>>>()});
  }
  return f;
}

std::unique_ptr<ModelRunner> runner_for(const Fixture& f, int32_t blocks) {
  RunnerOptions o;
  o.model_dir = f.dir;
  o.num_gpu_blocks = blocks;
  o.num_threads = 2;
  auto r = create_model_runner(o);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? std::move(*r) : nullptr;
}

double log_softmax_at(std::span<const float> row, int32_t id) {
  double mx = -1e300;
  for (float v : row) mx = std::max(mx, double(v));
  double sum = 0;
  for (float v : row) sum += std::exp(double(v) - mx);
  return double(row[id]) - mx - std::log(sum);
}

class Reference : public ::testing::TestWithParam<std::string> {};

// Teacher-forced: prefill the prompt (in chunks spanning block edges), then feed the reference's
// own greedy tokens one decode step at a time and compare every step's distribution.
TEST_P(Reference, StepDistributionsMatchTransformers) {
  Fixture f = load_fixture(GetParam());
  ASSERT_FALSE(f.cases.empty());
  const double tol = f.weights_dtype == "float32" ? 1e-3 : 2e-2;
  auto runner = runner_for(f, 128);
  ASSERT_TRUE(runner);
  const int32_t vocab = runner->config().vocab_size;
  int compared_ids = 0;
  for (size_t ci = 0; ci < f.cases.size(); ++ci) {
    const Case& c = f.cases[ci];
    std::vector<int32_t> tokens = c.prompt;
    tokens.insert(tokens.end(), c.output.begin(), c.output.end());
    // A block table in descending order, 16-token blocks.
    const int32_t nblocks = int32_t((tokens.size() + 15) / 16);
    std::vector<int32_t> table(nblocks);
    for (int32_t b = 0; b < nblocks; ++b) table[b] = 127 - b;
    std::vector<float> logits;
    const int32_t prompt_len = int32_t(c.prompt.size());
    for (int32_t start = 0; start < prompt_len; start += 500) {
      const int32_t n = std::min(500, prompt_len - start);
      ForwardBatch b;
      b.seqs.push_back(
          {std::span(tokens).subspan(start, n), start, table, start + n == prompt_len});
      ASSERT_TRUE(runner->forward(b, logits).is_ok());
    }
    for (size_t step = 0; step < c.output.size(); ++step) {
      if (step > 0) {
        const int32_t pos = prompt_len + int32_t(step) - 1;
        ForwardBatch b;
        b.seqs.push_back({std::span(tokens).subspan(pos, 1), pos, table, true});
        ASSERT_TRUE(runner->forward(b, logits).is_ok());
      }
      std::span<const float> row(logits.data(), size_t(vocab));
      const auto& ref_ids = c.top_ids[step];
      const auto& ref_lp = c.top_logprobs[step];
      const std::string where = "case " + std::to_string(ci) + " (prompt " +
                                std::to_string(prompt_len) + " tokens) step " +
                                std::to_string(step);
      for (size_t k = 0; k < ref_ids.size(); ++k)
        EXPECT_NEAR(log_softmax_at(row, ref_ids[k]), ref_lp[k], tol) << where << " rank " << k;
      if (ref_lp[0] - ref_lp[1] > kMarginNats) {
        EXPECT_EQ(argmax(row), ref_ids[0]) << where;
        ++compared_ids;
      }
    }
  }
  EXPECT_GT(compared_ids, int(f.cases.size()) * 12);  // most steps are decisive
}

// Free-running greedy generation of all prompts in one batch (chunked prefill, mixed decode)
// follows the reference until its first step with a margin under 0.05 nats.
TEST_P(Reference, BatchedGreedyGenerationMatchesTransformers) {
  Fixture f = load_fixture(GetParam());
  ASSERT_FALSE(f.cases.empty());
  auto runner = runner_for(f, 256);
  ASSERT_TRUE(runner);
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& c : f.cases) prompts.push_back(c.prompt);
  GenerateParams p;
  p.max_tokens = int32_t(f.cases[0].output.size());
  p.max_num_batched_tokens = 1024;
  auto out = generate(*runner, prompts, p);
  ASSERT_TRUE(out) << out.error().to_string();
  for (size_t ci = 0; ci < f.cases.size(); ++ci) {
    const Case& c = f.cases[ci];
    ASSERT_EQ((*out)[ci].output_ids.size(), c.output.size());
    for (size_t s = 0; s < c.output.size(); ++s) {
      if (c.top_logprobs[s][0] - c.top_logprobs[s][1] <= kMarginNats) break;
      ASSERT_EQ((*out)[ci].output_ids[s], c.output[s]) << "case " << ci << " step " << s;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Reference,
                         ::testing::Values("qwen3_bf16_tied", "qwen3_fp32_sharded",
                                           "qwen3_fp16_untied"));

}  // namespace
}  // namespace kvtier::model
