#include "model/checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/qwen3_tensors.h"
#include "model/safetensors_writer.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

using testing::small_config;
using testing::TempDir;
using testing::write_small_checkpoint;

// Every tensor of `config` as zeros (shapes and names only matter here), plus `extra`.
std::vector<TensorData> tensors_for(const ModelConfig& config) {
  std::vector<TensorData> out;
  for (const auto& spec : qwen3_tensor_specs(config)) {
    TensorDecl decl{spec.name, config.torch_dtype, spec.shape};
    out.push_back({decl, std::vector<float>(decl.nbytes() / dtype_size(decl.dtype), 0.25f)});
  }
  return out;
}

Status validate_dir(const std::filesystem::path& dir, const ModelConfig& config) {
  auto ckpt = Checkpoint::open(dir);
  if (!ckpt) return ckpt.error();
  return validate_qwen3_tensors(config, *ckpt);
}

void expect_message(const Status& s, ErrorCode code, const std::string& fragment) {
  ASSERT_FALSE(s.is_ok()) << "expected an error mentioning " << fragment;
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(Qwen3Tensors, SpecsFollowTheConfig) {
  ModelConfig c = small_config(true);
  auto specs = qwen3_tensor_specs(c);
  EXPECT_EQ(specs.size(), 1u + 11u * 2 + 1u);  // tied: no lm_head
  EXPECT_EQ(specs.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(specs.front().shape, (std::vector<int64_t>{300, 48}));
  EXPECT_EQ(specs[2].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(specs[2].shape, (std::vector<int64_t>{64, 48}));  // 4 heads x 16, not hidden
  EXPECT_EQ(specs[3].shape, (std::vector<int64_t>{32, 48}));  // 2 kv heads x 16
  c.tie_word_embeddings = false;
  EXPECT_EQ(qwen3_tensor_specs(c).back().name, "lm_head.weight");
}

TEST(Checkpoint, SingleFileValidates) {
  TempDir dir;
  ModelConfig c = small_config(true, DType::kBF16);
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", tensors_for(c)).is_ok());
  auto ckpt = Checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt) << ckpt.error().to_string();
  EXPECT_TRUE(validate_qwen3_tensors(c, *ckpt).is_ok());
  const TensorView* t = ckpt->find("model.norm.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype(), DType::kBF16);
  EXPECT_EQ(t->nbytes(), 48u * 2);
  EXPECT_EQ(ckpt->files().size(), 1u);
}

TEST(Checkpoint, ShardedCheckpointLoadsThroughIndex) {
  TempDir dir;
  ModelConfig c = small_config(false);
  write_small_checkpoint(dir.path(), c, 3, 40'000);  // ~40 kB shards
  ASSERT_TRUE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  ASSERT_FALSE(std::filesystem::exists(dir / "model.safetensors"));
  auto ckpt = Checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt) << ckpt.error().to_string();
  EXPECT_GT(ckpt->files().size(), 2u);
  EXPECT_TRUE(validate_qwen3_tensors(c, *ckpt).is_ok());
}

TEST(Checkpoint, ReportsMissingFiles) {
  TempDir dir;
  auto ckpt = Checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt);
  expect_message(ckpt.error(), ErrorCode::kNotFound, "model.safetensors");
  // An index naming a shard that is not there.
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"model.norm.weight":"model-00001-of-00002.safetensors"}})";
  ckpt = Checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt);
  expect_message(ckpt.error(), ErrorCode::kNotFound, "model-00001-of-00002.safetensors");
}

TEST(Checkpoint, IndexMustMatchShards) {
  TempDir dir;
  ModelConfig c = small_config(false);
  write_small_checkpoint(dir.path(), c, 3, 40'000);
  auto path = dir / "model.safetensors.index.json";
  nlohmann::json index;
  std::ifstream(path) >> index;
  // A tensor the index promises but the shard lacks.
  auto bad = index;
  bad["weight_map"]["model.layers.9.mlp.up_proj.weight"] = index["weight_map"]["model.norm.weight"];
  std::ofstream(path) << bad.dump();
  auto ckpt = Checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt);
  expect_message(ckpt.error(), ErrorCode::kDataLoss, "model.layers.9.mlp.up_proj.weight");
  // A tensor the shard holds but the index does not list.
  bad = index;
  bad["weight_map"].erase("model.norm.weight");
  std::ofstream(path) << bad.dump();
  ckpt = Checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt);
  expect_message(ckpt.error(), ErrorCode::kDataLoss, "model.norm.weight");
  std::ofstream(path) << "{\"weight_map\": 3}";
  ckpt = Checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt);
  expect_message(ckpt.error(), ErrorCode::kDataLoss, "weight_map");
}

TEST(Checkpoint, ValidationNamesMissingExtraAndMismatchedTensors) {
  TempDir dir;
  ModelConfig c = small_config(true);
  auto all = tensors_for(c);

  auto missing = all;
  missing.erase(missing.begin() + 5);  // a layer-0 tensor
  const std::string missing_name = all[5].decl.name;
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", missing).is_ok());
  expect_message(validate_dir(dir.path(), c), ErrorCode::kNotFound, missing_name);

  auto extra = all;
  extra.push_back({{"model.layers.7.mlp.up_proj.weight", DType::kF32, {2}}, {1, 2}});
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", extra).is_ok());
  expect_message(validate_dir(dir.path(), c), ErrorCode::kInvalidArgument,
                 "model.layers.7.mlp.up_proj.weight");

  auto shape = all;
  shape[1].decl.shape = {47};
  shape[1].values.resize(47);
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", shape).is_ok());
  Status s = validate_dir(dir.path(), c);
  expect_message(s, ErrorCode::kInvalidArgument, all[1].decl.name);
  EXPECT_NE(s.message().find("[47]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("model.safetensors"), std::string::npos) << s.message();

  auto dtype = all;
  dtype[2].decl.dtype = DType::kBF16;
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", dtype).is_ok());
  s = validate_dir(dir.path(), c);
  expect_message(s, ErrorCode::kInvalidArgument, all[2].decl.name);
  EXPECT_NE(s.message().find("bfloat16"), std::string::npos) << s.message();

  // Untied config over a tied checkpoint: lm_head is missing.
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", all).is_ok());
  ModelConfig untied = c;
  untied.tie_word_embeddings = false;
  expect_message(validate_dir(dir.path(), untied), ErrorCode::kNotFound, "lm_head.weight");
  // A tied model may carry a redundant lm_head of the right shape.
  auto with_head = all;
  with_head.push_back({{"lm_head.weight", DType::kF32, {300, 48}}, std::vector<float>(300 * 48)});
  ASSERT_TRUE(write_safetensors(dir / "model.safetensors", with_head).is_ok());
  EXPECT_TRUE(validate_dir(dir.path(), c).is_ok());
}

TEST(Checkpoint, TensorsSplitOverShardsTwiceAreRejected) {
  TempDir dir;
  ModelConfig c = small_config(true);
  auto all = tensors_for(c);
  std::vector<TensorData> a(all.begin(), all.begin() + 3), b(all.begin() + 2, all.end());
  ASSERT_TRUE(write_safetensors(dir / "a.safetensors", a).is_ok());
  ASSERT_TRUE(write_safetensors(dir / "b.safetensors", b).is_ok());
  nlohmann::json wm;
  for (const auto& t : a) wm[t.decl.name] = "a.safetensors";
  for (const auto& t : b) wm[t.decl.name] = "b.safetensors";
  // The index can only map a name once; the duplicate shows up as a tensor the index does not
  // list for that file.
  std::ofstream(dir / "model.safetensors.index.json") << nlohmann::json{{"weight_map", wm}}.dump();
  auto ckpt = Checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt);
  expect_message(ckpt.error(), ErrorCode::kDataLoss, all[2].decl.name);
}

}  // namespace
}  // namespace kvtier::model
