// The engine's device-sampling path: which steps go through ModelRunner::forward_sample, what
// each row asks for (the request's parameters, seed and draw counter), and that its tokens equal
// those of the logits path. First over a runner that samples "on the device" with the host
// sampler (runs everywhere), then over the CUDA runner on the tiny model (skips without a GPU).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>

#include "engine/engine.h"
#include "engine/engine_test_util.h"
#include "engine/offline.h"
#include "model/checkpoint_writer.h"
#include "model/presets.h"

namespace kvtier::engine {
namespace {

using testing::FakeModelRunner;

// Forwards everything to `inner`; with `on_device`, samples in forward_sample() the way the
// engine's host sampler would, from the spec alone, and records what was asked.
class SamplingRunner : public model::ModelRunner {
 public:
  SamplingRunner(std::unique_ptr<model::ModelRunner> inner, bool on_device)
      : inner_(std::move(inner)), on_device_(on_device) {}

  const model::ModelConfig& config() const override { return inner_->config(); }
  const kv::KvLayout& kv_layout() const override { return inner_->kv_layout(); }
  kv::KvPool kv_pool() override { return inner_->kv_pool(); }
  Status forward(const model::ForwardBatch& batch, std::vector<float>& logits) override {
    ++forward_calls;
    return inner_->forward(batch, logits);
  }
  bool samples_on_device() const override { return on_device_; }
  Status forward_sample(const model::ForwardBatch& batch,
                        std::span<const model::SampleSpec> specs,
                        std::vector<model::SampledToken>& tokens) override {
    ++sample_calls;
    if (!inner_on_device()) {
      specs_seen.insert(specs_seen.end(), specs.begin(), specs.end());
      KVTIER_RETURN_IF_ERROR(inner_->forward(batch, logits_));
      const size_t vocab = size_t(config().vocab_size);
      tokens.resize(specs.size());
      for (size_t r = 0; r < specs.size(); ++r) {
        const model::SampleSpec& s = specs[r];
        SamplingParams p;
        p.temperature = s.temperature;
        p.top_k = s.top_k;
        p.top_p = s.top_p;
        p.min_p = s.min_p;
        if (s.num_logprobs >= 0) p.logprobs = s.num_logprobs;
        SamplingState state;
        state.init(p, {}, s.seed, {});
        state.num_output = int32_t(s.counter);
        TokenLogprob lp;
        tokens[r].id = sampler_.sample(std::span<float>(logits_.data() + r * vocab, vocab), p,
                                       state, &lp);
        tokens[r].logprob = lp.logprob;
        tokens[r].top = lp.top;
        if (corrupt_next) tokens[r].id = int32_t(vocab) + 5;
      }
      return Status::ok();
    }
    return inner_->forward_sample(batch, specs, tokens);
  }

  int forward_calls = 0;
  int sample_calls = 0;
  bool corrupt_next = false;
  std::vector<model::SampleSpec> specs_seen;

 private:
  bool inner_on_device() const { return inner_->samples_on_device(); }
  std::unique_ptr<model::ModelRunner> inner_;
  bool on_device_;
  Sampler sampler_;
  std::vector<float> logits_;
};

struct TestRun {
  std::unique_ptr<Engine> engine;
  SamplingRunner* runner = nullptr;
};

TestRun fake_engine(bool on_device, EngineConfig config = testing::small_config()) {
  FakeModelRunner::Options o;
  o.block_size = config.block_size;
  o.eos_token_id = 7;
  TestRun run;
  auto runner =
      std::make_unique<SamplingRunner>(std::make_unique<FakeModelRunner>(o), on_device);
  run.runner = runner.get();
  EngineParts parts;
  parts.runner = std::move(runner);
  parts.eos_token_ids = {7};
  config.seed = 99;
  config.max_logprobs = 30;
  auto engine = Engine::create(config, std::move(parts));
  EXPECT_TRUE(engine.has_value()) << engine.status().to_string();
  if (engine) run.engine = std::move(engine).value();
  return run;
}

OfflinePrompt prompt(std::vector<int32_t> ids, SamplingParams p) {
  OfflinePrompt o;
  o.prompt_ids = std::move(ids);
  o.sampling = std::move(p);
  return o;
}

SamplingParams sampled(int32_t max_tokens, std::optional<uint64_t> seed) {
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 20;
  p.top_p = 0.9f;
  p.min_p = 0.02f;
  p.seed = seed;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

void expect_same_results(const std::vector<OfflineResult>& a, const std::vector<OfflineResult>& b,
                         double logprob_tolerance = 0.0) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(a[i].error.is_ok()) << a[i].error.to_string();
    EXPECT_EQ(a[i].output_ids, b[i].output_ids) << "prompt " << i;
    ASSERT_EQ(a[i].logprobs.size(), b[i].logprobs.size()) << "prompt " << i;
    for (size_t t = 0; t < a[i].logprobs.size(); ++t) {
      const TokenLogprob &x = a[i].logprobs[t], &y = b[i].logprobs[t];
      EXPECT_EQ(x.token_id, y.token_id);
      EXPECT_NEAR(x.logprob, y.logprob, logprob_tolerance) << "prompt " << i << " token " << t;
      ASSERT_EQ(x.top.size(), y.top.size()) << "prompt " << i << " token " << t;
      for (size_t j = 0; j < x.top.size(); ++j) {
        EXPECT_EQ(x.top[j].first, y.top[j].first) << "prompt " << i << " token " << t;
        EXPECT_NEAR(x.top[j].second, y.top[j].second, logprob_tolerance);
      }
    }
  }
}

TEST(EngineDeviceSampling, EligibleStepsSampleOnTheDeviceWithTheRequestsStreams) {
  std::vector<OfflinePrompt> ps;
  SamplingParams g = testing::greedy(6);
  g.logprobs = 3;
  ps.push_back(prompt({1, 2, 3, 4, 5}, g));
  ps.push_back(prompt({9, 8, 7}, sampled(8, 1234)));
  ps.push_back(prompt({4, 4, 4, 4, 4, 4, 4, 4, 4}, sampled(7, std::nullopt)));  // engine's seed
  SamplingParams plain;
  plain.seed = 5;
  plain.max_tokens = 5;
  plain.ignore_eos = true;
  plain.logprobs = 0;
  ps.push_back(prompt({3, 1, 4, 1, 5, 9, 2, 6}, plain));

  TestRun host = fake_engine(false);
  TestRun device = fake_engine(true);
  const auto want = generate(*host.engine, ps);
  const auto got = generate(*device.engine, ps);
  expect_same_results(got, want);
  EXPECT_EQ(device.runner->forward_calls, 0);
  EXPECT_GT(device.runner->sample_calls, 0);
  EXPECT_EQ(host.runner->sample_calls, 0);

  // Every generated token was one row: the counters of prompt 1 (seed 1234) run 0..7.
  std::vector<uint64_t> counters;
  for (const auto& s : device.runner->specs_seen) {
    if (s.seed == 1234) {
      counters.push_back(s.counter);
      EXPECT_FLOAT_EQ(s.temperature, 0.8f);
      EXPECT_EQ(s.top_k, 20);
      EXPECT_FLOAT_EQ(s.top_p, 0.9f);
      EXPECT_FLOAT_EQ(s.min_p, 0.02f);
      EXPECT_EQ(s.num_logprobs, -1);
    }
  }
  EXPECT_EQ(counters, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  size_t total = 0;
  for (const auto& r : got) total += r.output_ids.size();
  EXPECT_EQ(device.runner->specs_seen.size(), total);
}

TEST(EngineDeviceSampling, WhatTheDeviceCannotDoStaysOnTheLogitsPath) {
  std::vector<OfflinePrompt> ps;
  SamplingParams penalised = sampled(6, 11);
  penalised.repetition_penalty = 1.3f;
  penalised.presence_penalty = 0.5f;
  ps.push_back(prompt({1, 2, 3}, penalised));
  SamplingParams many = testing::greedy(4);
  many.logprobs = 25;  // more than the device returns
  ps.push_back(prompt({5, 6, 7, 8}, many));
  TestRun host = fake_engine(false);
  TestRun device = fake_engine(true);
  expect_same_results(generate(*device.engine, ps), generate(*host.engine, ps));
  EXPECT_EQ(device.runner->sample_calls, 0);
  EXPECT_GT(device.runner->forward_calls, 0);

  // min_tokens masks eos only while it is active: those steps take the logits path, later
  // ones the device.
  SamplingParams min_tokens = sampled(6, 3);
  min_tokens.ignore_eos = false;
  min_tokens.min_tokens = 3;
  TestRun host2 = fake_engine(false);
  TestRun device2 = fake_engine(true);
  const std::vector<OfflinePrompt> one = {prompt({2, 7, 1, 8}, min_tokens)};
  const auto want = generate(*host2.engine, one);
  expect_same_results(generate(*device2.engine, one), want);
  EXPECT_GT(device2.runner->forward_calls, 0);
  if (want[0].output_ids.size() > 3) {
    EXPECT_EQ(device2.runner->forward_calls, 3);
    EXPECT_EQ(device2.runner->sample_calls, int(want[0].output_ids.size()) - 3);
  }
}

TEST(EngineDeviceSampling, ATokenOutsideTheVocabularyFailsTheStepNotTheEngine) {
  TestRun device = fake_engine(true);
  device.runner->corrupt_next = true;
  auto results = generate(*device.engine, {prompt({1, 2, 3}, testing::greedy(3))});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].error.is_ok());
  EXPECT_NE(results[0].error.message().find("outside the vocabulary"), std::string::npos)
      << results[0].error.to_string();
  device.runner->corrupt_next = false;
  results = generate(*device.engine, {prompt({1, 2, 3}, testing::greedy(3))});
  EXPECT_TRUE(results[0].error.is_ok()) << results[0].error.to_string();
  EXPECT_EQ(results[0].output_ids.size(), 3u);
}

bool any_outside(const std::vector<int32_t>& ids, const std::vector<int32_t>& allowed) {
  return std::any_of(ids.begin(), ids.end(), [&](int32_t id) {
    return std::find(allowed.begin(), allowed.end(), id) == allowed.end();
  });
}

bool has_pair(const std::vector<int32_t>& ids, int32_t a, int32_t b) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i - 1] == a && ids[i] == b) return true;
  }
  return false;
}

TEST(EngineDeviceSampling, AllowedTokenIdsAndBadWordsMaskOnTheHost) {
  const std::vector<int32_t> allowed = {3, 10, 42, 77};
  std::vector<OfflinePrompt> ps;
  SamplingParams restricted = sampled(10, 21);
  restricted.allowed_token_ids = allowed;
  restricted.logprobs = 2;
  ps.push_back(prompt({1, 2, 3, 4, 5}, restricted));
  SamplingParams restricted_greedy = testing::greedy(10);
  restricted_greedy.allowed_token_ids = allowed;
  ps.push_back(prompt({9, 9, 8}, restricted_greedy));
  ps.push_back(prompt({6, 5, 4, 3}, sampled(10, 5)));  // shares the steps: they go to the host too

  TestRun host = fake_engine(false);
  TestRun device = fake_engine(true);
  const auto want = generate(*host.engine, ps);
  const auto got = generate(*device.engine, ps);
  expect_same_results(got, want);
  EXPECT_EQ(device.runner->sample_calls, 0);
  EXPECT_GT(device.runner->forward_calls, 0);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(got[i].output_ids.size(), 10u);
    EXPECT_FALSE(any_outside(got[i].output_ids, allowed)) << "prompt " << i;
  }
  // The list is what kept them there: the same requests without it leave the set.
  auto free = ps;
  free[0].sampling.allowed_token_ids.clear();
  free[1].sampling.allowed_token_ids.clear();
  const auto unrestricted = generate(*host.engine, free);
  EXPECT_TRUE(any_outside(unrestricted[0].output_ids, allowed));
  EXPECT_TRUE(any_outside(unrestricted[1].output_ids, allowed));
  // Logprobs are those of the raw logits (vLLM's default): the first step's row is the same
  // with and without the list, and so are its top logprobs, masked ids among them.
  ASSERT_FALSE(got[0].logprobs.empty());
  ASSERT_FALSE(unrestricted[0].logprobs.empty());
  const auto& top = got[0].logprobs[0].top;
  EXPECT_EQ(top, unrestricted[0].logprobs[0].top);
  EXPECT_TRUE(any_outside({top[0].first, top[1].first}, allowed));

  // Bad words: the greedy continuation's first token, then its first two tokens as one word.
  const std::vector<int32_t> ids = {11, 12, 13};
  const auto plain = generate(*host.engine, {prompt(ids, testing::greedy(12))})[0].output_ids;
  ASSERT_EQ(plain.size(), 12u);
  SamplingParams one = testing::greedy(12);
  one.bad_words_token_ids = {{plain[0]}};
  SamplingParams two = testing::greedy(12);
  two.bad_words_token_ids = {{plain[0], plain[1]}};
  TestRun device2 = fake_engine(true);
  const auto banned = generate(*device2.engine, {prompt(ids, one), prompt(ids, two)});
  EXPECT_EQ(device2.runner->sample_calls, 0);
  EXPECT_EQ(std::count(banned[0].output_ids.begin(), banned[0].output_ids.end(), plain[0]), 0);
  ASSERT_EQ(banned[1].output_ids.size(), 12u);
  EXPECT_EQ(banned[1].output_ids[0], plain[0]);  // the prefix alone is fine
  EXPECT_NE(banned[1].output_ids[1], plain[1]);
  EXPECT_FALSE(has_pair(banned[1].output_ids, plain[0], plain[1]));
}

TEST(EngineDeviceSampling, TokenMasksOutsideTheVocabularyAreRefused) {
  TestRun run = fake_engine(false);
  SamplingParams allowed = testing::greedy(3);
  allowed.allowed_token_ids = {5, 101};  // the fake vocabulary is [0, 101)
  SamplingParams bad = testing::greedy(3);
  bad.bad_words_token_ids = {{4}, {9, -1}};
  SamplingParams empty_word = testing::greedy(3);
  empty_word.bad_words_token_ids = {{}};
  const auto results = generate(*run.engine, {prompt({1, 2}, allowed), prompt({1, 2}, bad),
                                              prompt({1, 2}, empty_word)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_NE(results[0].error.message().find("allowed_token_ids[1] = 101"), std::string::npos)
      << results[0].error.to_string();
  EXPECT_NE(results[1].error.message().find("bad word 1 has token id -1"), std::string::npos)
      << results[1].error.to_string();
  EXPECT_NE(results[2].error.message().find("bad word 0 has no token ids"), std::string::npos)
      << results[2].error.to_string();
}

// The CUDA runner on the tiny model (the real vocabulary), once through forward_sample and once
// with device sampling hidden so the engine copies logits and samples on the host.
class EngineCudaSampling : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static std::atomic<int> counter{0};
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     fmt::format("kvtier_devsample_{}_{}", ::getpid(), counter++));
    std::filesystem::create_directories(*dir_);
    auto config = model::preset_config("tiny");
    ASSERT_TRUE(config.has_value());
    model::CheckpointWriteOptions options;
    options.out_dir = *dir_;
    options.seed = 11;
    options.num_threads = 2;
    const Status s = model::write_random_checkpoint(*config, options);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
  }

  EngineConfig config() const {
    EngineConfig c;
    c.model_dir = *dir_;
    c.device = "cuda";
    c.max_model_len = 160;
    c.max_num_seqs = 16;
    c.max_num_batched_tokens = 256;
    c.num_gpu_blocks_override = 64;
    c.seed = 5;
    return c;
  }

  // Null (and the test skipped) when this machine or build has no CUDA backend.
  TestRun make(bool on_device) {
    auto parts = Engine::load_parts(config());
    if (!parts) {
      const ErrorCode code = parts.status().code();
      if (code == ErrorCode::kUnavailable || code == ErrorCode::kUnimplemented) return {};
      ADD_FAILURE() << parts.status().to_string();
      return {};
    }
    TestRun run;
    auto runner = std::make_unique<SamplingRunner>(std::move(parts->runner), on_device);
    run.runner = runner.get();
    parts->runner = std::move(runner);
    auto engine = Engine::create(config(), std::move(parts).value());
    EXPECT_TRUE(engine.has_value()) << engine.status().to_string();
    if (engine) run.engine = std::move(engine).value();
    return run;
  }

  static std::filesystem::path* dir_;
};

std::filesystem::path* EngineCudaSampling::dir_ = nullptr;

std::vector<OfflinePrompt> cuda_prompts(const SamplingParams& p) {
  std::vector<OfflinePrompt> out;
  for (int i = 0; i < 6; ++i) {
    std::vector<int32_t> ids;
    for (int k = 0; k < 4 + 5 * i; ++k) ids.push_back(int32_t((7919 * (i + 1) * (k + 3)) % 150000));
    SamplingParams q = p;
    if (q.seed) q.seed = *q.seed + uint64_t(i);
    out.push_back(prompt(std::move(ids), q));
  }
  return out;
}

TEST_F(EngineCudaSampling, GreedyAndLogprobsEqualTheLogitsPath) {
  TestRun device = make(true);
  if (!device.engine) GTEST_SKIP() << "no CUDA backend on this machine";
  TestRun host = make(false);
  ASSERT_TRUE(host.engine);
  SamplingParams g = testing::greedy(12);
  g.logprobs = 5;
  const auto ps = cuda_prompts(g);
  expect_same_results(generate(*device.engine, ps), generate(*host.engine, ps), 1e-4);
  EXPECT_EQ(device.runner->forward_calls, 0);
  EXPECT_GT(device.runner->sample_calls, 0);
}

TEST_F(EngineCudaSampling, SeededSamplingIsReproducibleAndFollowsTheHostStream) {
  TestRun device = make(true);
  if (!device.engine) GTEST_SKIP() << "no CUDA backend on this machine";
  TestRun host = make(false);
  ASSERT_TRUE(host.engine);
  // Temperature and min_p only: the host draws in vocabulary order from the same stream, so the
  // tokens are the same (up to a draw landing on a boundary within rounding, ~1e-9).
  SamplingParams plain;
  plain.temperature = 0.9f;
  plain.min_p = 0.01f;
  plain.seed = 100;
  plain.max_tokens = 12;
  plain.ignore_eos = true;
  const auto ps = cuda_prompts(plain);
  expect_same_results(generate(*device.engine, ps), generate(*host.engine, ps));

  // With top_k / top_p: the same seed gives the same tokens, alone or batched, and run again.
  const auto tk = cuda_prompts(sampled(12, 700));
  const auto batched = generate(*device.engine, tk);
  const auto again = generate(*device.engine, tk);
  const auto alone = generate(*device.engine, {tk[2]});
  expect_same_results(again, batched);
  EXPECT_EQ(alone[0].output_ids, batched[2].output_ids);
  // Different seeds give different continuations.
  EXPECT_NE(batched[0].output_ids, batched[1].output_ids);
}

TEST_F(EngineCudaSampling, AllowedTokenIdsAndBadWordsTakeTheLogitsPath) {
  TestRun device = make(true);
  if (!device.engine) GTEST_SKIP() << "no CUDA backend on this machine";
  TestRun host = make(false);
  ASSERT_TRUE(host.engine);
  SamplingParams p = sampled(12, 40);
  p.allowed_token_ids = {11, 500, 7919, 120000};
  p.bad_words_token_ids = {{500}};
  const auto ps = cuda_prompts(p);
  const auto got = generate(*device.engine, ps);
  expect_same_results(got, generate(*host.engine, ps));
  EXPECT_EQ(device.runner->sample_calls, 0);
  EXPECT_GT(device.runner->forward_calls, 0);
  for (const auto& r : got) {
    ASSERT_EQ(r.output_ids.size(), 12u);
    EXPECT_FALSE(any_outside(r.output_ids, {11, 7919, 120000}));
  }
}

}  // namespace
}  // namespace kvtier::engine
