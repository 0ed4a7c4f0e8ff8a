// The CUDA runner against Hugging Face transformers (float64) on the checkpoints transformers
// wrote (tests/fixtures/model/<name>/, see tools/reference/make_model_fixtures.py). All cases run
// as one batch: prompts prefilled in chunks that split across steps (a small step capacity), then
// decoded together teacher-forced with the reference's tokens through a padded CUDA graph.
// bf16 activations and KV (and fp16 or fp32 weights rounded to bf16) cost accuracy against a
// float64 reference, so the bounds are wider than the CPU runner's: the greedy id must be one of
// the reference's top 5, and the reference's top-1 wherever it beats its top-2 by more than
// 0.3 nats; top-1 log-probabilities within 0.5 nats each and 0.1 on average; all top-5 within
// 2 nats each and 0.25 on average. Measured on the H200: mean errors 0.07 (bf16 weights) to 0.16
// (fp32 weights, head_dim 16), top-1 0.015 to 0.06. A wrong kernel is off by nats everywhere.
#ifdef KVTIER_HAVE_CUDA
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "model/cuda_test_models.h"

namespace kvtier::model::cuda {
namespace {

using namespace testing;

constexpr double kMarginNats = 0.3;

struct Case {
  std::vector<int32_t> prompt, output;
  std::vector<std::vector<int32_t>> top_ids;
  std::vector<std::vector<double>> top_logprobs;
};

std::vector<Case> load_cases(const std::filesystem::path& dir) {
  std::vector<Case> cases;
  std::ifstream in(dir / "fixtures.json");
  EXPECT_TRUE(in) << "missing " << (dir / "fixtures.json");
  if (!in) return cases;
  auto j = nlohmann::json::parse(in);
  for (const auto& c : j.at("cases"))
    cases.push_back({c.at("prompt_ids").get<std::vector<int32_t>>(),
                     c.at("output_ids").get<std::vector<int32_t>>(),
                     c.at("top_ids").get<std::vector<std::vector<int32_t>>>(),
                     c.at("top_logprobs").get<std::vector<std::vector<double>>>()});
  return cases;
}

double log_softmax_at(std::span<const float> row, int32_t id) {
  double mx = -1e300;
  for (float v : row) mx = std::max(mx, double(v));
  double sum = 0;
  for (float v : row) sum += std::exp(double(v) - mx);
  return double(row[id]) - mx - std::log(sum);
}

class CudaReference : public CudaModelTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(CudaReference, BatchedTeacherForcedStepsMatchTransformers) {
  const auto dir = source_dir() / "tests" / "fixtures" / "model" / GetParam();
  const auto cases = load_cases(dir);
  ASSERT_FALSE(cases.empty());
  RunnerOptions o = runner_options(dir, "cuda", 1024);
  o.max_num_batched_tokens = 1024;  // the 1,500-token prompt spans steps
  o.max_num_seqs = 16;
  auto r = make_cuda_runner(o);
  ASSERT_TRUE(r);
  const int32_t vocab = r->config().vocab_size;

  SeqBuilder b;
  std::vector<Seq> seqs;
  for (const Case& c : cases) {
    Seq s = b.make(c.prompt, int32_t(c.prompt.size() + c.output.size()));
    s.tokens.insert(s.tokens.end(), c.output.begin(), c.output.end());
    seqs.push_back(std::move(s));
  }
  // A block table in descending order exercises non-contiguous blocks.
  for (auto& s : seqs) std::reverse(s.blocks.begin(), s.blocks.end());

  double worst = 0, sum_all = 0, sum_top1 = 0;
  int compared_ids = 0, n_all = 0, n_top1 = 0;
  const size_t steps = cases[0].output.size();
  for (size_t step = 0; step < steps; ++step) {
    ForwardBatch batch;
    for (size_t i = 0; i < seqs.size(); ++i) {
      const int32_t n = step == 0 ? int32_t(cases[i].prompt.size()) : 1;
      batch.seqs.push_back(chunk(seqs[i], n));
    }
    std::vector<float> logits;
    auto st = r->forward(batch, logits);
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    ASSERT_EQ(logits.size(), seqs.size() * vocab);
    for (size_t i = 0; i < seqs.size(); ++i) {
      std::span<const float> row(logits.data() + i * vocab, vocab);
      const auto& ids = cases[i].top_ids[step];
      const auto& lps = cases[i].top_logprobs[step];
      for (size_t k = 0; k < ids.size(); ++k) {
        const double err = std::fabs(log_softmax_at(row, ids[k]) - lps[k]);
        worst = std::max(worst, err);
        sum_all += err;
        ++n_all;
        if (k == 0) {
          sum_top1 += err;
          ++n_top1;
        }
        EXPECT_LT(err, k == 0 ? 0.5 : 2.0) << "case " << i << " step " << step << " rank " << k;
      }
      EXPECT_NE(std::find(ids.begin(), ids.end(), argmax(row)), ids.end())
          << "case " << i << " step " << step << ": greedy id not in the reference's top 5";
      if (lps[0] - lps[1] > kMarginNats) {
        EXPECT_EQ(argmax(row), ids[0]) << "case " << i << " step " << step;
        ++compared_ids;
      }
      seqs[i].computed += step == 0 ? int32_t(cases[i].prompt.size()) : 1;
    }
  }
  const double mean_all = sum_all / std::max(n_all, 1), mean_top1 = sum_top1 / std::max(n_top1, 1);
  std::cout << "[ cuda vs transformers ] " << GetParam() << ": log-prob error mean " << mean_all
            << " (top-1 " << mean_top1 << "), worst " << worst << "; " << compared_ids
            << " greedy ids compared\n";
  EXPECT_LT(mean_top1, 0.1);
  EXPECT_LT(mean_all, 0.25);
  EXPECT_GT(compared_ids, int(cases.size() * steps) / 2);
  EXPECT_EQ(r->num_captured_graphs(), 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaReference,
                         ::testing::Values("qwen3_bf16_tied", "qwen3_fp32_sharded",
                                           "qwen3_fp16_untied"));

}  // namespace
}  // namespace kvtier::model::cuda
#endif  // KVTIER_HAVE_CUDA
