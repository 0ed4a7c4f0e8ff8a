// The make-model writer: Hugging Face layout, determinism, sharding, and the tiny preset's
// behaviour as a language model (peaked, context-dependent next-token distributions).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/paths.h"
#include "model/checkpoint.h"
#include "model/checkpoint_writer.h"
#include "model/model_runner.h"
#include "model/offline_generator.h"
#include "model/presets.h"
#include "model/qwen3_tensors.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in) << p;
  return in ? nlohmann::json::parse(in) : nlohmann::json();
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_preset(const fs::path& dir, const std::string& preset, uint64_t seed,
                  uint64_t shard = 5'000'000'000ull, DType dtype = DType::kBF16) {
  auto config = preset_config(preset);
  ASSERT_TRUE(config) << config.error().to_string();
  config->torch_dtype = dtype;
  CheckpointWriteOptions o;
  o.out_dir = dir;
  o.seed = seed;
  o.max_shard_bytes = shard;
  o.tokenizer_dir = default_tokenizer_dir();
  o.num_threads = 2;
  Status s = write_random_checkpoint(*config, o);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
}

std::unique_ptr<ModelRunner> runner(const fs::path& dir, int32_t blocks) {
  RunnerOptions o;
  o.model_dir = dir;
  o.num_gpu_blocks = blocks;
  o.num_threads = 2;
  auto r = create_model_runner(o);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? std::move(*r) : nullptr;
}

TEST(Presets, RealShapes) {
  auto c = preset_config("qwen3-0.6b");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->hidden_size, 1024);
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_TRUE(c->tie_word_embeddings);
  c = preset_config("qwen3-8b");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->num_hidden_layers, 36);
  EXPECT_EQ(c->intermediate_size, 12288);
  EXPECT_FALSE(c->tie_word_embeddings);
  c = preset_config("qwen3-14b");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->num_attention_heads, 40);
  EXPECT_EQ(c->hidden_size, 5120);
  // KV bytes per token in bf16 as facts.md lists them.
  for (auto [name, bytes] :
       {std::pair{"qwen3-0.6b", 114688}, {"qwen3-8b", 147456}, {"qwen3-14b", 163840}}) {
    auto p = preset_config(name);
    EXPECT_EQ(2 * p->num_hidden_layers * p->num_key_value_heads * p->head_dim * 2, bytes) << name;
  }
  auto bad = preset_config("qwen3-70b");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("qwen3-70b"), std::string::npos);
}

TEST(MakeModel, TinyPresetHasTheHuggingFaceLayout) {
  TempDir dir;
  write_preset(dir.path(), "tiny", 0);
  auto cfg = read_json(dir / "config.json");
  EXPECT_EQ(cfg["architectures"], nlohmann::json::array({"Qwen3ForCausalLM"}));
  EXPECT_EQ(cfg["model_type"], "qwen3");
  EXPECT_EQ(cfg["vocab_size"], 151936);
  EXPECT_EQ(cfg["hidden_size"], 128);
  EXPECT_EQ(cfg["num_attention_heads"], 4);
  EXPECT_EQ(cfg["num_key_value_heads"], 2);
  EXPECT_EQ(cfg["head_dim"], 64);  // != 128 / 4
  EXPECT_EQ(cfg["tie_word_embeddings"], true);
  EXPECT_EQ(cfg["torch_dtype"], "bfloat16");
  EXPECT_EQ(cfg["rms_norm_eps"], 1e-6);
  EXPECT_EQ(cfg["eos_token_id"], 151645);
  auto gen = read_json(dir / "generation_config.json");
  EXPECT_EQ(gen["eos_token_id"], nlohmann::json::array({151645, 151643}));
  if (fs::exists(default_tokenizer_dir() / "tokenizer.json")) {
    EXPECT_EQ(read_bytes(dir / "tokenizer.json"),
              read_bytes(default_tokenizer_dir() / "tokenizer.json"));
    EXPECT_TRUE(fs::exists(dir / "tokenizer_config.json"));
  }
  EXPECT_TRUE(fs::exists(dir / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.index.json"));
  auto config = load_config(dir.path());
  ASSERT_TRUE(config) << config.error().to_string();
  auto ckpt = Checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt) << ckpt.error().to_string();
  EXPECT_TRUE(validate_qwen3_tensors(*config, *ckpt).is_ok());
  EXPECT_EQ(ckpt->find("model.embed_tokens.weight")->dtype(), DType::kBF16);
  EXPECT_EQ(ckpt->find("lm_head.weight"), nullptr);
}

TEST(MakeModel, SeedDeterminesTheWeights) {
  ModelConfig c = testing::small_config(false, DType::kBF16);
  TempDir a, b, other;
  testing::write_small_checkpoint(a.path(), c, 42);
  testing::write_small_checkpoint(b.path(), c, 42);
  testing::write_small_checkpoint(other.path(), c, 43);
  EXPECT_EQ(read_bytes(a / "model.safetensors"), read_bytes(b / "model.safetensors"));
  EXPECT_NE(read_bytes(a / "model.safetensors"), read_bytes(other / "model.safetensors"));
}

TEST(MakeModel, ShardedWriteLoadsToTheSameModel) {
  TempDir single, sharded;
  write_preset(single.path(), "tiny", 5, 5'000'000'000ull, DType::kF32);
  write_preset(sharded.path(), "tiny", 5, 600'000ull, DType::kF32);
  EXPECT_FALSE(fs::exists(sharded / "model.safetensors"));
  auto index = read_json(sharded / "model.safetensors.index.json");
  std::set<std::string> files;
  for (const auto& [name, file] : index["weight_map"].items())
    files.insert(file.get<std::string>());
  EXPECT_GE(files.size(), 4u);
  EXPECT_TRUE(files.count("model-00001-of-0000" + std::to_string(files.size()) + ".safetensors"));
  auto whole = Checkpoint::open(single.path());
  ASSERT_TRUE(whole);
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), whole->total_bytes());
  std::vector<int32_t> prompt = {9707, 11, 1879, 0, 151644, 872, 198};
  auto r1 = runner(single.path(), 4), r2 = runner(sharded.path(), 4);
  ASSERT_TRUE(r1 && r2);
  GenerateParams p;
  p.max_tokens = 4;
  p.logprobs = 3;
  auto o1 = generate(*r1, {prompt}, p), o2 = generate(*r2, {prompt}, p);
  ASSERT_TRUE(o1 && o2);
  EXPECT_EQ((*o1)[0].output_ids, (*o2)[0].output_ids);
  EXPECT_EQ((*o1)[0].logprobs[0].logprobs, (*o2)[0].logprobs[0].logprobs);
  // Writing the single file over the sharded folder removes the shards it would shadow.
  write_preset(sharded.path(), "tiny", 5, 5'000'000'000ull, DType::kF32);
  EXPECT_FALSE(fs::exists(sharded / "model.safetensors.index.json"));
  for (const auto& f : files) EXPECT_FALSE(fs::exists(sharded / f)) << f;
}

// The tiny preset behaves like a language model, not a uniform soup: the top token clearly
// beats the runner-up, generation depends on the prompt, and it does not just echo its input.
TEST(MakeModel, TinyPresetGivesPeakedContextDependentDistributions) {
  TempDir dir;
  write_preset(dir.path(), "tiny", 0);
  auto r = runner(dir.path(), 64);
  ASSERT_TRUE(r);
  std::mt19937 rng(3);
  std::vector<std::vector<int32_t>> prompts;
  for (int len : {5, 12, 30, 61, 100, 200}) {
    std::vector<int32_t> p(len);
    for (auto& t : p) t = int32_t(rng() % 151643);  // ordinary (non-special) tokens
    prompts.push_back(p);
  }
  GenerateParams params;
  params.max_tokens = 24;
  params.logprobs = 2;
  auto out = generate(*r, prompts, params);
  ASSERT_TRUE(out) << out.error().to_string();
  std::vector<double> margins, top1;
  std::set<int32_t> first_tokens, all_tokens;
  for (const auto& o : *out) {
    first_tokens.insert(o.output_ids[0]);
    for (size_t s = 0; s < o.logprobs.size(); ++s) {
      margins.push_back(o.logprobs[s].logprobs[0] - o.logprobs[s].logprobs[1]);
      top1.push_back(std::exp(o.logprobs[s].logprobs[0]));
      all_tokens.insert(o.output_ids[s]);
    }
    std::set<int32_t> distinct(o.output_ids.begin(), o.output_ids.end());
    EXPECT_GE(distinct.size(), 3u) << "a continuation stuck on one token";
  }
  std::sort(margins.begin(), margins.end());
  std::sort(top1.begin(), top1.end());
  const double median_margin = margins[margins.size() / 2];
  const size_t decisive =
      size_t(std::count_if(margins.begin(), margins.end(), [](double m) { return m > 0.05; }));
  EXPECT_GT(median_margin, 0.5);
  EXPECT_GE(decisive * 10, margins.size() * 9);    // >= 90% of steps
  EXPECT_GT(top1[top1.size() / 2], 0.3);           // a clear favourite among 151,936 tokens
  EXPECT_EQ(first_tokens.size(), prompts.size());  // each prompt leads somewhere else
  EXPECT_GT(all_tokens.size(), 40u);
  RecordProperty("median_margin_nats", std::to_string(median_margin));
  RecordProperty("median_top1_prob", std::to_string(top1[top1.size() / 2]));
  std::cout << "tiny: median margin " << median_margin << " nats, min " << margins.front()
            << ", decisive " << decisive << "/" << margins.size() << ", median top-1 prob "
            << top1[top1.size() / 2] << ", distinct tokens " << all_tokens.size() << "\n";
}

}  // namespace
}  // namespace kvtier::model
