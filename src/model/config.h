#pragma once
// A Qwen3 model's shape as read from a Hugging Face config.json.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace kvtier::model {

enum class DType { kF32, kF16, kBF16 };
const char* dtype_name(DType t);  // "float32", "float16", "bfloat16" (config.json's torch_dtype)
int dtype_size(DType t);
// Accepts config.json's torch names ("bfloat16", "float16", "float32") and the short forms
// "bf16", "fp16", "fp32".
Expected<DType> parse_dtype(std::string_view name);

struct ModelConfig {
  std::string architecture = "Qwen3ForCausalLM";
  int32_t vocab_size = 0;
  int32_t hidden_size = 0;
  int32_t intermediate_size = 0;
  int32_t num_hidden_layers = 0;
  int32_t num_attention_heads = 0;
  int32_t num_key_value_heads = 0;
  int32_t head_dim = 0;             // taken from config.json, never derived when present
  int32_t max_position_embeddings = 40960;
  double rope_theta = 1e6;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  DType torch_dtype = DType::kBF16;
  int32_t bos_token_id = -1;
  int32_t eos_token_id = -1;
};

// Reads DIR/config.json; errors name the file and the field.
Expected<ModelConfig> load_config(const std::filesystem::path& model_dir);
// The same from parsed JSON; `source` names it in errors. Understands both the transformers 4
// keys (torch_dtype, rope_theta) and the transformers 5 ones (dtype, rope_parameters).
Expected<ModelConfig> parse_config(const nlohmann::json& j, const std::string& source);

}  // namespace kvtier::model
