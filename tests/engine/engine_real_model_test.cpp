// The engine on the real CPU model runner: the tiny Qwen3 preset (real vocabulary, seeded random
// weights) with the real Qwen3 tokenizer, written to a scratch folder per test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "common/paths.h"
#include "engine/engine.h"
#include "engine/offline.h"
#include "model/checkpoint_writer.h"
#include "model/presets.h"

namespace kvtier::engine {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ =
        fs::temp_directory_path() / fmt::format("kvtier_engine_test_{}_{}", ::getpid(), counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes the tiny preset (with the tokenizer files unless `with_tokenizer` is false).
void write_tiny_model(const fs::path& dir, bool with_tokenizer = true) {
  auto config = model::preset_config("tiny");
  ASSERT_TRUE(config.has_value());
  model::CheckpointWriteOptions options;
  options.out_dir = dir;
  options.seed = 11;
  options.num_threads = 2;
  if (with_tokenizer) options.tokenizer_dir = default_tokenizer_dir();
  Status s = model::write_random_checkpoint(*config, options);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
}

EngineConfig tiny_config(const fs::path& dir) {
  EngineConfig c;
  c.model_dir = dir;
  c.max_model_len = 160;
  c.max_num_seqs = 16;
  c.max_num_batched_tokens = 256;
  c.num_gpu_blocks_override = 64;
  c.num_threads = 2;
  return c;
}

std::unique_ptr<Engine> make(const EngineConfig& config) {
  auto engine = Engine::create(config);
  EXPECT_TRUE(engine.has_value()) << engine.status().to_string();
  return engine ? std::move(engine).value() : nullptr;
}

// Not started: generate() drives it on the test thread, so batches do not depend on timing.
std::unique_ptr<Engine> make_driven(const EngineConfig& config) {
  auto parts = Engine::load_parts(config);
  EXPECT_TRUE(parts.has_value()) << parts.status().to_string();
  if (!parts) return nullptr;
  auto engine = Engine::create(config, std::move(parts).value());
  EXPECT_TRUE(engine.has_value()) << engine.status().to_string();
  return engine ? std::move(engine).value() : nullptr;
}

std::vector<OfflinePrompt> prompts() {
  std::vector<OfflinePrompt> out;
  // Short prompts; the first five share a 20-token prefix.
  for (int i = 0; i < 8; ++i) {
    OfflinePrompt p;
    for (int k = 0; k < (i < 5 ? 20 : 0); ++k) p.prompt_ids.push_back(1000 + 37 * k);
    for (int k = 0; k < 3 + 4 * i; ++k)
      p.prompt_ids.push_back(5000 + 7919 * (i + 1) * (k + 1) % 140000);
    p.sampling.temperature = 0.0f;
    p.sampling.max_tokens = 5;
    p.sampling.ignore_eos = true;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::vector<int32_t>> outputs(Engine& engine, const std::vector<OfflinePrompt>& ps) {
  std::vector<std::vector<int32_t>> out;
  for (const auto& r : generate(engine, ps)) {
    EXPECT_TRUE(r.error.is_ok()) << r.error.to_string();
    EXPECT_EQ(r.output_ids.size(), 5u);
    out.push_back(r.output_ids);
  }
  return out;
}

TEST(EngineRealModel, GreedyAloneBatchedChunkedPreemptedAndCachedAgree) {
  ScratchDir dir;
  write_tiny_model(dir.path());
  const auto ps = prompts();

  auto config = tiny_config(dir.path());
  config.enable_prefix_caching = false;
  auto alone_engine = make(config);
  ASSERT_TRUE(alone_engine);
  std::vector<std::vector<int32_t>> alone;
  for (const auto& p : ps) alone.push_back(outputs(*alone_engine, {p})[0]);
  alone_engine.reset();

  auto batched = make_driven(tiny_config(dir.path()));
  EXPECT_EQ(outputs(*batched, ps), alone);
  EXPECT_EQ(outputs(*batched, ps), alone);  // the second round hits the prefix cache
  EXPECT_GT(batched->stats().prefix_cache_hits, 0u);
  batched.reset();

  config = tiny_config(dir.path());
  config.max_num_batched_tokens = 7;
  auto chunked = make_driven(config);
  EXPECT_EQ(outputs(*chunked, ps), alone);
  chunked.reset();

  config = tiny_config(dir.path());
  config.num_gpu_blocks_override = 9;  // 144 tokens for 8 requests of up to 56
  config.max_model_len = 144;
  auto preempting = make_driven(config);
  EXPECT_EQ(outputs(*preempting, ps), alone);
  EXPECT_TRUE(preempting->shutdown(true));  // stats are published at the end of each step
  EXPECT_GT(preempting->stats().num_preemptions, 0u);
  EXPECT_EQ(preempting->stats().kv_cache_usage, 0.0);
}

TEST(EngineRealModel, CpuOffloadTierServesEvictedPrefixes) {
  ScratchDir dir;
  write_tiny_model(dir.path());
  auto config = tiny_config(dir.path());
  config.num_gpu_blocks_override = 10;
  config.max_model_len = 160;
  config.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
                              R"("kv_connector_extra_config":{"num_cpu_blocks":64}})";
  auto engine = make(config);
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->info().num_cpu_blocks, 64);
  OfflinePrompt a;
  for (int k = 0; k < 70; ++k) a.prompt_ids.push_back(3000 + 101 * k);
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 4;
  a.sampling.ignore_eos = true;
  OfflinePrompt evict = a;
  for (auto& t : evict.prompt_ids) t += 7;
  evict.prompt_ids.resize(150);  // all ten GPU blocks
  evict.prompt_ids.back() = 1;

  const OfflineResult first = generate(*engine, {a})[0];
  ASSERT_TRUE(first.error.is_ok()) << first.error.to_string();
  EXPECT_EQ(first.cached_tokens, 0);
  generate(*engine, {evict});
  const OfflineResult again = generate(*engine, {a})[0];
  EXPECT_EQ(again.output_ids, first.output_ids);
  EXPECT_EQ(again.cached_tokens, 64);  // four full blocks, all from the CPU tier
  EXPECT_TRUE(engine->shutdown(true));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.external_prefix_cache_hits, 64u);
  EXPECT_GT(s.transfers.at("GPU_to_CPU").count, 0u);
  EXPECT_GT(s.transfers.at("CPU_to_GPU").bytes, 0u);
  EXPECT_EQ(s.kv_cache_usage, 0.0);
}

TEST(EngineRealModel, TextDeltasAndStopStrings) {
  ScratchDir dir;
  write_tiny_model(dir.path());
  auto engine = make(tiny_config(dir.path()));
  ASSERT_TRUE(engine);
  auto tokenizer = tokenizer::Tokenizer::load(dir.path());
  ASSERT_TRUE(tokenizer.has_value());
  auto ids = (*tokenizer)->encode("The quick brown fox jumps over the lazy dog");
  ASSERT_TRUE(ids.has_value());

  OfflinePrompt p;
  p.prompt_ids = *ids;
  p.sampling.temperature = 0.0f;
  p.sampling.max_tokens = 24;
  p.sampling.ignore_eos = true;
  const OfflineResult free_run = generate(*engine, {p})[0];
  ASSERT_EQ(free_run.output_ids.size(), 24u);
  // The streamed deltas add up to the decoded output.
  EXPECT_EQ(free_run.output_text, (*tokenizer)->decode(free_run.output_ids, true));
  const std::string& text = free_run.output_text;
  ASSERT_GE(text.size(), 8u);

  // Stop at a string from the middle of that text: the text is cut before its first occurrence.
  std::string stop = text.substr(text.size() / 2, 3);
  while (!stop.empty() && (static_cast<unsigned char>(stop[0]) & 0xC0) == 0x80) stop.erase(0, 1);
  ASSERT_FALSE(stop.empty());
  const size_t first = text.find(stop);
  p.sampling.stop = {stop};
  OfflineResult cut = generate(*engine, {p})[0];
  EXPECT_EQ(cut.finish_reason, FinishReason::kStop);
  EXPECT_EQ(cut.stop_reason, stop);
  EXPECT_EQ(cut.output_text, text.substr(0, first));
  EXPECT_LT(cut.output_ids.size(), 24u);
  EXPECT_EQ(cut.output_ids, std::vector<int32_t>(free_run.output_ids.begin(),
                                                 free_run.output_ids.begin() +
                                                     std::ptrdiff_t(cut.output_ids.size())));
  p.sampling.include_stop_str_in_output = true;
  OfflineResult with_stop = generate(*engine, {p})[0];
  EXPECT_EQ(with_stop.output_text, text.substr(0, first + stop.size()));
}

TEST(EngineRealModel, EosFromTheModelFolderEndsGeneration) {
  ScratchDir dir;
  write_tiny_model(dir.path());
  auto engine = make(tiny_config(dir.path()));
  ASSERT_TRUE(engine);
  OfflinePrompt p;
  p.prompt_ids = {9707, 11, 1879};
  p.sampling.temperature = 0.0f;
  p.sampling.max_tokens = 5;
  p.sampling.ignore_eos = true;
  const auto probe = generate(*engine, {p})[0].output_ids;
  ASSERT_EQ(probe.size(), 5u);
  // A stop token id that greedy produces ends the request there, its text hidden.
  p.sampling.stop_token_ids = {probe[1]};
  const auto r = generate(*engine, {p})[0];
  EXPECT_EQ(r.output_ids.size(), 2u);
  EXPECT_EQ(r.finish_reason, FinishReason::kStop);
  auto tokenizer = tokenizer::Tokenizer::load(dir.path());
  EXPECT_EQ(r.output_text, (*tokenizer)->decode(std::vector<int32_t>{probe[0]}, true));
  // Qwen3's eos ids come from tokenizer_config.json and generation_config.json.
  EXPECT_TRUE((*tokenizer)->eos_token_id().has_value());
}

TEST(EngineRealModel, ModelFolderWithoutTokenizerServesIdsOnly) {
  ScratchDir dir;
  write_tiny_model(dir.path(), /*with_tokenizer=*/false);
  auto engine = make(tiny_config(dir.path()));
  ASSERT_TRUE(engine);
  OfflinePrompt p;
  p.prompt_ids = {1, 2, 3};
  p.sampling.max_tokens = 3;
  p.sampling.temperature = 0.0f;
  auto r = generate(*engine, {p})[0];
  EXPECT_EQ(r.output_ids.size(), 3u);
  EXPECT_TRUE(r.output_text.empty());
  p.sampling.stop = {"x"};
  r = generate(*engine, {p})[0];
  EXPECT_NE(r.error.message().find("stop strings need a tokenizer"), std::string::npos);
}

TEST(EngineRealModel, CreateNamesWhatIsMissing) {
  ScratchDir dir;
  auto config = tiny_config(dir.path() / "absent");
  auto r = Engine::create(config);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.status().message().find("absent"), std::string::npos) << r.status().message();

  write_tiny_model(dir.path(), /*with_tokenizer=*/false);
  config = tiny_config(dir.path());
  config.tokenizer_dir = dir.path() / "no-tokenizer-here";
  r = Engine::create(config);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find("no-tokenizer-here"), std::string::npos);

  config = tiny_config(dir.path());
  config.kv_transfer_config = "{not json";
  r = Engine::create(config);
  ASSERT_FALSE(r.has_value());
}

}  // namespace
}  // namespace kvtier::engine
