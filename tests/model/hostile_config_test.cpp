// Hostile config.json and safetensors headers: every size is checked against a limit before
// anything is allocated from it, and the error names the file and the field.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/qwen3_tensors.h"
#include "model/safetensors.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

using nlohmann::json;
using testing::TempDir;

json small_json() {
  return json{{"architectures", {"Qwen3ForCausalLM"}},
              {"vocab_size", 300},
              {"hidden_size", 48},
              {"intermediate_size", 80},
              {"num_hidden_layers", 2},
              {"num_attention_heads", 4},
              {"num_key_value_heads", 2},
              {"head_dim", 16},
              {"eos_token_id", 2}};
}

void expect_refused(const json& j, const std::string& field) {
  auto c = parse_config(j, "dir/config.json");
  ASSERT_FALSE(c) << field << " accepted";
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("dir/config.json"), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("'" + field + "'"), std::string::npos) << c.error().message();
}

TEST(HostileConfig, HugeSizesAreRefusedBeforeTheTensorListIsBuilt) {
  ASSERT_TRUE(parse_config(small_json(), "dir/config.json"));
  for (const char* field :
       {"num_hidden_layers", "vocab_size", "hidden_size", "intermediate_size",
        "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings"}) {
    json j = small_json();
    j[field] = 2147483647;
    if (std::string(field) == "num_attention_heads") j["num_key_value_heads"] = 1;
    expect_refused(j, field);
  }
}

TEST(HostileConfig, RealModelShapesStillLoad) {
  // Llama-3.1-405B-sized: the limits leave room for every published dense model.
  json j = small_json();
  j["vocab_size"] = 262144;
  j["hidden_size"] = 16384;
  j["intermediate_size"] = 53248;
  j["num_hidden_layers"] = 126;
  j["num_attention_heads"] = 128;
  j["num_key_value_heads"] = 8;
  j["head_dim"] = 128;
  j["max_position_embeddings"] = 1010000;
  auto c = parse_config(j, "config.json");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(qwen3_tensor_specs(*c).size(), 126u * 11 + 3);
}

TEST(HostileConfig, LoadConfigNamesTheFile) {
  TempDir dir;
  json j = small_json();
  j["num_hidden_layers"] = 2147483647;
  std::ofstream(dir / "config.json") << j.dump();
  auto c = load_config(dir.path());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find((dir / "config.json").string()), std::string::npos)
      << c.error().message();
  EXPECT_NE(c.error().message().find("num_hidden_layers"), std::string::npos);
}

void write_header(const std::filesystem::path& path, const std::string& header, size_t data) {
  std::ofstream out(path, std::ios::binary);
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out.put(char((len >> (8 * i)) & 0xff));
  out << header << std::string(data, '\0');
}

TEST(HostileSafetensors, TooManyDimensionsAreRefused) {
  TempDir dir;
  const auto path = dir / "model.safetensors";
  write_header(path,
               R"({"t": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],)"
               R"( "data_offsets": [0, 4]}})",
               4);
  auto f = SafetensorsFile::open(path);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find(path.string()), std::string::npos);
  EXPECT_NE(f.error().message().find("'t'"), std::string::npos) << f.error().message();
  EXPECT_NE(f.error().message().find("dimensions"), std::string::npos) << f.error().message();
}

TEST(HostileSafetensors, HugeDimensionWithAZeroIsRefused) {
  // [0, 2^62]: zero bytes, but a dimension no tensor can have; later products would overflow.
  TempDir dir;
  const auto path = dir / "model.safetensors";
  write_header(path,
               R"({"t": {"dtype": "F32", "shape": [0, 4611686018427387904],)"
               R"( "data_offsets": [0, 0]}})",
               0);
  auto f = SafetensorsFile::open(path);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("'t'"), std::string::npos) << f.error().message();
  EXPECT_NE(f.error().message().find("4611686018427387904"), std::string::npos)
      << f.error().message();
}

TEST(HostileSafetensors, IndexWithTooManyShardsIsRefused) {
  TempDir dir;
  json map = json::object();
  for (int i = 0; i < 20000; ++i)
    map["t" + std::to_string(i)] = "model-" + std::to_string(i) + ".safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << json{{"weight_map", map}}.dump();
  auto c = Checkpoint::open(dir.path());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("model.safetensors.index.json"), std::string::npos)
      << c.error().message();
  EXPECT_NE(c.error().message().find("shards"), std::string::npos) << c.error().message();
}

}  // namespace
}  // namespace kvtier::model
