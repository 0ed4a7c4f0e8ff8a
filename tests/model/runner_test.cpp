#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "model/model_runner.h"
#include "model_test_util.h"
#include "naive_qwen3.h"

namespace kvtier::model {
namespace {

using testing::small_config;
using testing::TempDir;
using testing::write_small_checkpoint;

std::unique_ptr<ModelRunner> make_runner(const std::filesystem::path& dir, int32_t blocks = 64,
                                         int32_t block_size = 16, int threads = 2) {
  RunnerOptions o;
  o.model_dir = dir;
  o.num_gpu_blocks = blocks;
  o.block_size = block_size;
  o.num_threads = threads;
  auto r = create_model_runner(o);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? std::move(*r) : nullptr;
}

std::vector<int32_t> random_tokens(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = int32_t(rng() % vocab);
  return t;
}

// Blocks [first, first + n) in reverse order: tables that are neither contiguous nor increasing.
std::vector<int32_t> table(int32_t first, int32_t n) {
  std::vector<int32_t> t(n);
  for (int32_t i = 0; i < n; ++i) t[i] = first + n - 1 - i;
  return t;
}

// One prefill of `tokens` (in chunks of `chunk`), returning the last logits row.
std::vector<float> prefill(ModelRunner& r, const std::vector<int32_t>& tokens,
                           const std::vector<int32_t>& blocks, int chunk) {
  std::vector<float> logits;
  for (int start = 0; start < int(tokens.size()); start += chunk) {
    const int n = std::min<int>(chunk, int(tokens.size()) - start);
    ForwardBatch b;
    b.seqs.push_back(
        {std::span(tokens).subspan(start, n), start, blocks, start + n == int(tokens.size())});
    Status s = r.forward(b, logits);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    EXPECT_EQ(logits.size(), b.num_logit_rows() * size_t(r.config().vocab_size));
  }
  return logits;
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, double tol,
                  const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  EXPECT_LE(worst, tol) << what;
}

class RunnerVsNaive : public ::testing::TestWithParam<std::tuple<bool, DType>> {};

TEST_P(RunnerVsNaive, LogitsMatchThePlainDefinition) {
  auto [tied, dtype] = GetParam();
  TempDir dir;
  write_small_checkpoint(dir.path(), small_config(tied, dtype));
  testing::NaiveQwen3 naive(dir.path());
  auto runner = make_runner(dir.path());
  ASSERT_TRUE(runner);
  for (int len : {1, 7, 40}) {
    auto tokens = random_tokens(len, 300, uint32_t(len));
    auto got = prefill(*runner, tokens, table(0, 3), 64);
    auto want = naive.last_logits(tokens);
    double worst = 0, spread = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::abs(got[i] - want[i]));
      spread = std::max(spread, std::abs(want[i]));
    }
    EXPECT_GT(spread, 1.0);  // logits are not trivially small
    EXPECT_LT(worst, 2e-3) << "prompt length " << len;
  }
}

INSTANTIATE_TEST_SUITE_P(Weights, RunnerVsNaive,
                         ::testing::Values(std::make_tuple(true, DType::kF32),
                                           std::make_tuple(false, DType::kBF16),
                                           std::make_tuple(false, DType::kF16)));

TEST(Runner, ChunkedPrefillEqualsSinglePrefill) {
  TempDir dir;
  write_small_checkpoint(dir.path(), small_config(true));
  auto runner = make_runner(dir.path());
  ASSERT_TRUE(runner);
  auto tokens = random_tokens(150, 300, 5);
  auto whole = prefill(*runner, tokens, table(0, 10), 1000);
  for (int chunk : {1, 7, 16, 33}) {
    auto chunked = prefill(*runner, tokens, table(20, 10), chunk);
    expect_close(chunked, whole, 1e-4, "chunk " + std::to_string(chunk));
  }
  // Decoding after the prefill sees the same cache either way.
  std::vector<int32_t> next = {17};
  std::vector<float> a, b;
  auto ta = table(0, 10), tb = table(20, 10);
  ForwardBatch da, db;
  da.seqs.push_back({next, 150, ta, true});
  db.seqs.push_back({next, 150, tb, true});
  ASSERT_TRUE(runner->forward(da, a).is_ok());
  ASSERT_TRUE(runner->forward(db, b).is_ok());
  expect_close(a, b, 1e-4, "decode after prefill");
}

TEST(Runner, BatchOfSequencesEqualsEachAlone) {
  TempDir dir;
  write_small_checkpoint(dir.path(), small_config(false));
  const std::vector<int> lengths = {1, 19, 64, 100};
  std::vector<std::vector<int32_t>> prompts;
  for (int n : lengths) prompts.push_back(random_tokens(n, 300, uint32_t(100 + n)));

  // Alone: a fresh runner per sequence; prefill all but the last 3 tokens, then 3 decode steps.
  std::vector<std::vector<float>> alone;
  for (const auto& p : prompts) {
    auto r = make_runner(dir.path(), 16);
    std::vector<int32_t> blocks = table(0, 8);
    const int pre = std::max<int>(1, int(p.size()) - 3);
    prefill(*r, std::vector<int32_t>(p.begin(), p.begin() + pre), blocks, 1000);
    std::vector<float> logits;
    for (int pos = pre; pos < int(p.size()); ++pos) {
      ForwardBatch b;
      b.seqs.push_back({std::span(p).subspan(pos, 1), pos, blocks, true});
      ASSERT_TRUE(r->forward(b, logits).is_ok());
    }
    if (pre == int(p.size())) logits = prefill(*r, p, blocks, 1000);
    alone.push_back(logits);
  }

  // Together: one runner, interleaved block tables, prefill chunks mixed with decodes.
  auto r = make_runner(dir.path(), 64);
  std::vector<std::vector<int32_t>> tables(prompts.size());
  for (size_t s = 0; s < prompts.size(); ++s)
    for (int b = 0; b < 8; ++b) tables[s].push_back(int32_t(b * prompts.size() + s));
  std::vector<int> done(prompts.size(), 0);
  std::vector<std::vector<float>> last(prompts.size());
  for (int step = 0; step < 20; ++step) {
    ForwardBatch batch;
    std::vector<size_t> who;
    for (size_t s = 0; s < prompts.size(); ++s) {
      const int len = int(prompts[s].size());
      if (done[s] >= len) continue;
      const int n = std::min(len - done[s], 1 + (step * 13 + int(s) * 7) % 29);
      batch.seqs.push_back(
          {std::span(prompts[s]).subspan(done[s], n), done[s], tables[s], done[s] + n == len});
      who.push_back(s);
    }
    if (batch.seqs.empty()) break;
    std::vector<float> logits;
    ASSERT_TRUE(r->forward(batch, logits).is_ok());
    ASSERT_EQ(logits.size(), size_t(batch.num_logit_rows()) * 300);
    size_t row = 0;
    for (size_t i = 0; i < who.size(); ++i) {
      done[who[i]] += int(batch.seqs[i].tokens.size());
      if (!batch.seqs[i].want_logits) continue;
      last[who[i]].assign(logits.begin() + row * 300, logits.begin() + (row + 1) * 300);
      ++row;
    }
  }
  for (size_t s = 0; s < prompts.size(); ++s)
    expect_close(last[s], alone[s], 1e-4, "sequence " + std::to_string(s));
}

TEST(Runner, RejectsBadBatchesWithClearErrors) {
  TempDir dir;
  write_small_checkpoint(dir.path(), small_config(true));
  auto r = make_runner(dir.path(), 8, 16);
  ASSERT_TRUE(r);
  std::vector<float> logits;
  std::vector<int32_t> ok_tokens = {1, 2, 3}, bad_tokens = {1, 300, 3}, neg = {-1};
  std::vector<int32_t> blocks = {0, 1}, outside = {8}, none;
  auto run = [&](std::span<const int32_t> tokens, int32_t start, std::span<const int32_t> table) {
    ForwardBatch b;
    b.seqs.push_back({std::span(ok_tokens), 0, std::span(blocks), true});
    b.seqs.push_back({tokens, start, table, true});
    return r->forward(b, logits);
  };
  Status s = run(bad_tokens, 0, blocks);
  EXPECT_EQ(s.code(), ErrorCode::kOutOfRange);
  EXPECT_NE(s.message().find("token id 300"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("sequence 1"), std::string::npos) << s.message();
  s = run(neg, 0, blocks);
  EXPECT_EQ(s.code(), ErrorCode::kOutOfRange);
  s = run(ok_tokens, 0, outside);
  EXPECT_EQ(s.code(), ErrorCode::kOutOfRange);
  EXPECT_NE(s.message().find("block 8"), std::string::npos) << s.message();
  s = run(ok_tokens, 15, std::span(blocks).subspan(0, 1));  // positions 15..17 need 2 blocks
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("need 2"), std::string::npos) << s.message();
  s = run(none, 0, blocks);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  s = run(ok_tokens, 2046, blocks);  // beyond max_position_embeddings 2048
  EXPECT_EQ(s.code(), ErrorCode::kOutOfRange);
  // After all that the runner still works, and a batch without logits returns no rows.
  ForwardBatch b;
  b.seqs.push_back({std::span(ok_tokens), 0, std::span(blocks), false});
  ASSERT_TRUE(r->forward(b, logits).is_ok());
  EXPECT_TRUE(logits.empty());
  ASSERT_TRUE(r->forward(ForwardBatch{}, logits).is_ok());
}

TEST(Runner, KvPoolFollowsOptions) {
  TempDir dir;
  ModelConfig c = small_config(true);
  write_small_checkpoint(dir.path(), c);
  auto r = make_runner(dir.path(), 5, 8);
  ASSERT_TRUE(r);
  const kv::KvLayout& L = r->kv_layout();
  EXPECT_EQ(L.num_layers, c.num_hidden_layers);
  EXPECT_EQ(L.num_kv_heads, c.num_key_value_heads);
  EXPECT_EQ(L.head_dim, c.head_dim);
  EXPECT_EQ(L.block_size, 8);
  EXPECT_EQ(L.dtype_bytes, 4);
  kv::KvPool pool = r->kv_pool();
  EXPECT_EQ(pool.num_blocks, 5);
  EXPECT_EQ(pool.device, kv::Device::kCpu);
  ASSERT_NE(pool.base, nullptr);

  RunnerOptions o;
  o.model_dir = dir.path();
  o.block_size = 16;
  o.cpu_kv_cache_bytes = int64_t(L.block_bytes()) * 2 * 7 + 5;  // 16-token blocks are 2x larger
  auto sized = create_model_runner(o);
  ASSERT_TRUE(sized) << sized.error().to_string();
  EXPECT_EQ((*sized)->kv_pool().num_blocks, 7);
  o.cpu_kv_cache_bytes = 10;
  auto tiny = create_model_runner(o);
  ASSERT_FALSE(tiny);
  EXPECT_NE(tiny.error().message().find("cpu_kv_cache_bytes"), std::string::npos);
}

TEST(Runner, WritesKvIntoTheBlocksOfItsTable) {
  TempDir dir;
  write_small_checkpoint(dir.path(), small_config(true));
  auto r = make_runner(dir.path(), 6, 4);
  ASSERT_TRUE(r);
  kv::KvPool pool = r->kv_pool();
  auto tokens = random_tokens(6, 300, 9);
  std::vector<int32_t> blocks = {4, 1};
  prefill(*r, tokens, blocks, 6);
  auto nonzero = [&](int32_t block) {
    const float* p = reinterpret_cast<const float*>(pool.block(block));
    for (size_t i = 0; i < pool.layout.block_elems(); ++i)
      if (p[i] != 0.0f) return true;
    return false;
  };
  EXPECT_TRUE(nonzero(4));
  EXPECT_TRUE(nonzero(1));
  for (int32_t b : {0, 2, 3, 5}) EXPECT_FALSE(nonzero(b)) << "block " << b;
  // Block 1 holds positions 4 and 5 only: slots 2 and 3 of every layer stay empty.
  const float* p = reinterpret_cast<const float*>(pool.block(1));
  const auto& L = pool.layout;
  for (int layer = 0; layer < L.num_layers; ++layer)
    for (int kv = 0; kv < 2; ++kv) {
      for (size_t e = 0; e < L.token_elems(); ++e) {
        EXPECT_EQ(p[L.elem_offset(layer, kv, 2) + e], 0.0f);
        EXPECT_EQ(p[L.elem_offset(layer, kv, 3) + e], 0.0f);
      }
      float mag = 0;
      for (size_t e = 0; e < L.token_elems(); ++e)
        mag += std::abs(p[L.elem_offset(layer, kv, 1) + e]);
      EXPECT_GT(mag, 0.0f);
    }
}

TEST(Runner, FactoryErrors) {
  TempDir dir;
  RunnerOptions o;
  o.model_dir = dir.path();
  auto r = create_model_runner(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  o.device = "tpu";
  r = create_model_runner(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("tpu"), std::string::npos);
#ifndef KVTIER_HAVE_CUDA
  o.device = "cuda";
  r = create_model_runner(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(r.error().message().find("CUDA"), std::string::npos);
#endif
}

}  // namespace
}  // namespace kvtier::model
