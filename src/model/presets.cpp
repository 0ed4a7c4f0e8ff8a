#include "model/presets.h"

#include <fmt/ranges.h>

namespace kvtier::model {
namespace {

ModelConfig qwen3_base() {
  ModelConfig c;
  c.architecture = "Qwen3ForCausalLM";
  c.vocab_size = 151936;
  c.max_position_embeddings = 40960;
  c.rope_theta = 1e6;
  c.rms_norm_eps = 1e-6;
  c.torch_dtype = DType::kBF16;
  c.bos_token_id = 151643;  // <|endoftext|>
  c.eos_token_id = 151645;  // <|im_end|>
  return c;
}

ModelConfig shaped(int hidden, int inter, int layers, int heads, int kv_heads, int head_dim,
                   bool tied) {
  ModelConfig c = qwen3_base();
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.tie_word_embeddings = tied;
  return c;
}

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"tiny", "qwen3-0.6b", "qwen3-8b", "qwen3-14b"};
  return names;
}

Expected<ModelConfig> preset_config(std::string_view name) {
  // tiny: the real vocabulary, 4 small layers, GQA (4 query heads on 2 KV heads) and a head_dim
  // of 64 that differs from hidden / heads = 32, as Qwen3-0.6B's 128 differs from 1024 / 16.
  if (name == "tiny") return shaped(128, 384, 4, 4, 2, 64, true);
  if (name == "qwen3-0.6b") return shaped(1024, 3072, 28, 16, 8, 128, true);
  if (name == "qwen3-8b") return shaped(4096, 12288, 36, 32, 8, 128, false);
  if (name == "qwen3-14b") return shaped(5120, 17408, 40, 40, 8, 128, false);
  return invalid_argument("unknown preset '{}' (known: {})", name, fmt::join(preset_names(), ", "));
}

}  // namespace kvtier::model
