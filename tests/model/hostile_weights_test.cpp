// NaN or Inf in the weights and an eos_token_id outside the vocabulary are load errors naming
// the tensor or the file, not a model that loads and then produces garbage.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "kernels/thread_pool.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/cpu_weights.h"
#include "model_test_util.h"

namespace kvtier::model {
namespace {

using testing::TempDir;

// Overwrites element `index` of tensor `name` (an F32 tensor of model.safetensors).
void poke(const std::filesystem::path& dir, const std::string& name, int64_t index, float value) {
  size_t offset = 0;
  {
    auto file = SafetensorsFile::open(dir / "model.safetensors");
    ASSERT_TRUE(file) << file.error().to_string();
    const TensorInfo* t = file->find(name);
    ASSERT_NE(t, nullptr) << name;
    ASSERT_EQ(t->dtype, DType::kF32);
    offset = t->file_offset + size_t(index) * 4;
  }
  std::fstream f(dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(std::streamoff(offset));
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  f.write(bytes, 4);
}

Expected<CpuWeights> load(const std::filesystem::path& dir, const ModelConfig& config) {
  auto ckpt = Checkpoint::open(dir);
  if (!ckpt) return ckpt.error();
  kernels::ThreadPool pool(2);
  return load_cpu_weights(config, *ckpt, pool);
}

TEST(HostileWeights, NanAndInfAreLoadErrorsNamingTheTensor) {
  const ModelConfig config = testing::small_config(/*tied=*/true, DType::kF32);
  const std::string tensor = "model.layers.1.mlp.down_proj.weight";
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    TempDir dir;
    testing::write_small_checkpoint(dir.path(), config);
    ASSERT_TRUE(load(dir.path(), config)) << "the clean checkpoint must load";
    poke(dir.path(), tensor, 1234, bad);
    auto w = load(dir.path(), config);
    ASSERT_FALSE(w) << bad << " loaded silently";
    EXPECT_NE(w.error().message().find("'" + tensor + "'"), std::string::npos)
        << w.error().message();
    EXPECT_NE(w.error().message().find("1234"), std::string::npos) << w.error().message();
    EXPECT_NE(w.error().message().find("model.safetensors"), std::string::npos)
        << w.error().message();
  }
}

TEST(HostileWeights, EosOutsideTheVocabularyIsAConfigError) {
  nlohmann::json j = {{"architectures", {"Qwen3ForCausalLM"}},
                      {"vocab_size", 300},
                      {"hidden_size", 48},
                      {"intermediate_size", 80},
                      {"num_hidden_layers", 2},
                      {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},
                      {"head_dim", 16},
                      {"eos_token_id", 299}};
  ASSERT_TRUE(parse_config(j, "dir/config.json"));
  for (const nlohmann::json& eos : {nlohmann::json(300), nlohmann::json({2, 151645})}) {
    j["eos_token_id"] = eos;
    auto c = parse_config(j, "dir/config.json");
    ASSERT_FALSE(c) << eos.dump() << " accepted";
    EXPECT_NE(c.error().message().find("dir/config.json"), std::string::npos);
    EXPECT_NE(c.error().message().find("eos_token_id"), std::string::npos);
    EXPECT_NE(c.error().message().find(eos.is_array() ? "151645" : "300"), std::string::npos)
        << c.error().message();
  }
  j["eos_token_id"] = 2;
  j["bos_token_id"] = 1000;
  auto c = parse_config(j, "dir/config.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("bos_token_id"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::model
