#include "model/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/checkpoint_writer.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

using nlohmann::json;
using testing::TempDir;

// Qwen3-0.6B's config.json as published (transformers 4.51 keys).
json qwen3_06b() {
  return json::parse(R"({
    "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
    "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
    "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})");
}

TEST(Config, ParsesQwen3Config) {
  auto c = parse_config(qwen3_06b(), "config.json");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->architecture, "Qwen3ForCausalLM");
  EXPECT_EQ(c->vocab_size, 151936);
  EXPECT_EQ(c->hidden_size, 1024);
  EXPECT_EQ(c->intermediate_size, 3072);
  EXPECT_EQ(c->num_hidden_layers, 28);
  EXPECT_EQ(c->num_attention_heads, 16);
  EXPECT_EQ(c->num_key_value_heads, 8);
  EXPECT_EQ(c->head_dim, 128);  // given, not 1024 / 16
  EXPECT_EQ(c->max_position_embeddings, 40960);
  EXPECT_DOUBLE_EQ(c->rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->torch_dtype, DType::kBF16);
  EXPECT_EQ(c->bos_token_id, 151643);
  EXPECT_EQ(c->eos_token_id, 151645);
}

TEST(Config, ParsesTransformers5Keys) {
  json j = qwen3_06b();
  j.erase("torch_dtype");
  j.erase("rope_theta");
  j.erase("rope_scaling");
  j["dtype"] = "float16";
  j["rope_parameters"] = {{"rope_theta", 5000.0}, {"rope_type", "default"}};
  j["eos_token_id"] = {151645, 151643};
  auto c = parse_config(j, "config.json");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->torch_dtype, DType::kF16);
  EXPECT_DOUBLE_EQ(c->rope_theta, 5000.0);
  EXPECT_EQ(c->eos_token_id, 151645);
}

TEST(Config, DerivesHeadDimOnlyWhenAbsent) {
  json j = qwen3_06b();
  j.erase("head_dim");
  auto c = parse_config(j, "config.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->head_dim, 64);
  j.erase("num_key_value_heads");
  c = parse_config(j, "config.json");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->num_key_value_heads, 16);
}

void expect_error(json j, ErrorCode code, const std::string& fragment) {
  auto c = parse_config(j, "dir/config.json");
  ASSERT_FALSE(c) << "expected an error mentioning " << fragment;
  EXPECT_EQ(c.error().code(), code) << c.error().to_string();
  EXPECT_NE(c.error().message().find(fragment), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("dir/config.json"), std::string::npos) << c.error().message();
}

TEST(Config, ErrorsNameTheField) {
  json j = qwen3_06b();
  j.erase("vocab_size");
  expect_error(j, ErrorCode::kInvalidArgument, "'vocab_size'");
  j = qwen3_06b();
  j["hidden_size"] = "1024";
  expect_error(j, ErrorCode::kInvalidArgument, "'hidden_size'");
  j = qwen3_06b();
  j["num_hidden_layers"] = -3;
  expect_error(j, ErrorCode::kInvalidArgument, "'num_hidden_layers'");
  j = qwen3_06b();
  j["num_key_value_heads"] = 3;
  expect_error(j, ErrorCode::kInvalidArgument, "num_key_value_heads 3");
  j = qwen3_06b();
  j["torch_dtype"] = "int8";
  expect_error(j, ErrorCode::kInvalidArgument, "'torch_dtype'");
  j = qwen3_06b();
  j["tie_word_embeddings"] = "yes";
  expect_error(j, ErrorCode::kInvalidArgument, "'tie_word_embeddings'");
  j = qwen3_06b();
  j["rms_norm_eps"] = 0;
  expect_error(j, ErrorCode::kInvalidArgument, "'rms_norm_eps'");
  j = qwen3_06b();
  j["head_dim"] = 127;
  expect_error(j, ErrorCode::kInvalidArgument, "head_dim 127");
}

TEST(Config, RejectsOtherArchitecturesAndFeatures) {
  json j = qwen3_06b();
  j["architectures"] = {"LlamaForCausalLM"};
  expect_error(j, ErrorCode::kUnimplemented, "LlamaForCausalLM");
  j = qwen3_06b();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error(j, ErrorCode::kUnimplemented, "yarn");
  j = qwen3_06b();
  j["attention_bias"] = true;
  expect_error(j, ErrorCode::kUnimplemented, "attention_bias");
  j = qwen3_06b();
  j["use_sliding_window"] = true;
  expect_error(j, ErrorCode::kUnimplemented, "use_sliding_window");
}

TEST(Config, LoadConfigReportsMissingAndBadFiles) {
  TempDir dir;
  auto c = load_config(dir.path());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(c.error().message().find("config.json"), std::string::npos);
  std::ofstream(dir / "config.json") << "{ not json";
  c = load_config(dir.path());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("not valid JSON"), std::string::npos) << c.error().message();
}

TEST(Config, WrittenConfigReadsBack) {
  TempDir dir;
  ModelConfig c = testing::small_config(false, DType::kF16);
  c.rope_theta = 1e6;
  std::ofstream(dir / "config.json") << hf_config_json(c).dump(2);
  auto back = load_config(dir.path());
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->vocab_size, c.vocab_size);
  EXPECT_EQ(back->head_dim, c.head_dim);
  EXPECT_EQ(back->num_key_value_heads, c.num_key_value_heads);
  EXPECT_EQ(back->tie_word_embeddings, false);
  EXPECT_EQ(back->torch_dtype, DType::kF16);
  EXPECT_DOUBLE_EQ(back->rope_theta, 1e6);
  EXPECT_EQ(hf_config_json(c)["rope_theta"].dump(), "1000000");  // an integer, as Qwen3 ships it
}

}  // namespace
}  // namespace kvtier::model
