// --load-format dummy: random weights made at load equal what make-model writes with the same
// seed, so a dummy model is the same model (shapes, KV sizing, outputs) without a checkpoint.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/checkpoint_writer.h"
#include "model/load_format.h"
#include "model/model_runner.h"
#include "model/offline_generator.h"
#include "model/presets.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

Expected<std::unique_ptr<ModelRunner>> make_runner(const fs::path& model, LoadFormat format,
                                                   uint64_t seed) {
  RunnerOptions o;
  o.model_dir = model;
  o.load_format = format;
  o.seed = seed;
  o.num_gpu_blocks = 16;
  o.num_threads = 2;
  return create_model_runner(o);
}

TEST(LoadFormat, ParsesVllmNames) {
  EXPECT_EQ(*parse_load_format("auto"), LoadFormat::kAuto);
  EXPECT_EQ(*parse_load_format("safetensors"), LoadFormat::kSafetensors);
  EXPECT_EQ(*parse_load_format("dummy"), LoadFormat::kDummy);
  auto pt = parse_load_format("pt");
  ASSERT_FALSE(pt);
  EXPECT_EQ(pt.error().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(pt.error().message().find("pt"), std::string::npos);
  auto bad = parse_load_format("dumy");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("'dumy'"), std::string::npos);
}

// The tiny preset as dummy weights (no folder at all) and as make-model's checkpoint with the
// same seed: equal shapes, KV layout and pool, and the same greedy tokens and log-probabilities.
TEST(LoadFormat, DummyPresetEqualsTheWrittenCheckpoint) {
  auto config = preset_config("tiny");
  ASSERT_TRUE(config);
  TempDir dir;
  CheckpointWriteOptions w;
  w.out_dir = dir.path();
  w.seed = 11;
  w.num_threads = 2;
  ASSERT_TRUE(write_random_checkpoint(*config, w).is_ok());

  auto written = make_runner(dir.path(), LoadFormat::kAuto, 0);
  auto dummy = make_runner("tiny", LoadFormat::kDummy, 11);
  auto other_seed = make_runner("tiny", LoadFormat::kDummy, 12);
  ASSERT_TRUE(written) << written.error().to_string();
  ASSERT_TRUE(dummy) << dummy.error().to_string();
  ASSERT_TRUE(other_seed) << other_seed.error().to_string();
  const ModelConfig& a = (*written)->config();
  const ModelConfig& b = (*dummy)->config();
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ((*written)->kv_layout().block_bytes(), (*dummy)->kv_layout().block_bytes());
  EXPECT_EQ((*written)->kv_pool().num_blocks, (*dummy)->kv_pool().num_blocks);

  GenerateParams p;
  p.max_tokens = 6;
  p.logprobs = 3;
  const std::vector<int32_t> prompt = {9707, 11, 1879, 0, 151644, 872, 198, 4340};
  auto from_disk = generate(**written, {prompt}, p);
  auto from_dummy = generate(**dummy, {prompt}, p);
  auto from_other = generate(**other_seed, {prompt}, p);
  ASSERT_TRUE(from_disk && from_dummy && from_other);
  EXPECT_EQ((*from_disk)[0].output_ids, (*from_dummy)[0].output_ids);
  for (size_t s = 0; s < (*from_disk)[0].logprobs.size(); ++s)
    EXPECT_EQ((*from_disk)[0].logprobs[s].logprobs, (*from_dummy)[0].logprobs[s].logprobs) << s;
  // The seed matters: another one is another model.
  EXPECT_NE((*from_disk)[0].logprobs[0].logprobs, (*from_other)[0].logprobs[0].logprobs);
}

// A folder holding only config.json serves with dummy weights and is refused without them.
TEST(LoadFormat, ConfigOnlyFolderNeedsDummy) {
  TempDir dir;
  auto config = preset_config("tiny");
  ASSERT_TRUE(config);
  std::ofstream(dir / "config.json") << hf_config_json(*config).dump(2);
  auto dummy = make_runner(dir.path(), LoadFormat::kDummy, 3);
  ASSERT_TRUE(dummy) << dummy.error().to_string();
  EXPECT_EQ((*dummy)->config().num_hidden_layers, config->num_hidden_layers);
  auto real = make_runner(dir.path(), LoadFormat::kAuto, 3);
  ASSERT_FALSE(real);
  EXPECT_NE(real.error().message().find(dir.path().string()), std::string::npos)
      << real.error().message();
}

TEST(LoadFormat, UnknownModelNamesThePresets) {
  auto r = make_runner("qwen3-9b", LoadFormat::kDummy, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("qwen3-9b"), std::string::npos);
  EXPECT_NE(r.error().message().find("qwen3-14b"), std::string::npos);
  EXPECT_FALSE(is_preset_model("qwen3-8b", LoadFormat::kAuto));
  EXPECT_TRUE(is_preset_model("qwen3-8b", LoadFormat::kDummy));
}

}  // namespace
}  // namespace kvtier::model
