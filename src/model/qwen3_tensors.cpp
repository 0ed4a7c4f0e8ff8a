#include "model/qwen3_tensors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

namespace kvtier::model {

std::string qwen3_layer_tensor(int layer, const char* suffix) {
  return fmt::format("model.layers.{}.{}", layer, suffix);
}

std::vector<TensorSpec> qwen3_tensor_specs(const ModelConfig& c) {
  const int64_t h = c.hidden_size, inter = c.intermediate_size, d = c.head_dim;
  const int64_t q = int64_t(c.num_attention_heads) * d, kv = int64_t(c.num_key_value_heads) * d;
  std::vector<TensorSpec> specs;
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, h}});
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    specs.push_back({qwen3_layer_tensor(l, "input_layernorm.weight"), {h}});
    specs.push_back({qwen3_layer_tensor(l, "self_attn.q_proj.weight"), {q, h}});
    specs.push_back({qwen3_layer_tensor(l, "self_attn.k_proj.weight"), {kv, h}});
    specs.push_back({qwen3_layer_tensor(l, "self_attn.v_proj.weight"), {kv, h}});
    specs.push_back({qwen3_layer_tensor(l, "self_attn.o_proj.weight"), {h, q}});
    specs.push_back({qwen3_layer_tensor(l, "self_attn.q_norm.weight"), {d}});
    specs.push_back({qwen3_layer_tensor(l, "self_attn.k_norm.weight"), {d}});
    specs.push_back({qwen3_layer_tensor(l, "post_attention_layernorm.weight"), {h}});
    specs.push_back({qwen3_layer_tensor(l, "mlp.gate_proj.weight"), {inter, h}});
    specs.push_back({qwen3_layer_tensor(l, "mlp.up_proj.weight"), {inter, h}});
    specs.push_back({qwen3_layer_tensor(l, "mlp.down_proj.weight"), {h, inter}});
  }
  specs.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, h}});
  return specs;
}

Status validate_qwen3_tensors(const ModelConfig& config, const Checkpoint& checkpoint) {
  std::set<std::string, std::less<>> expected;
  for (const auto& spec : qwen3_tensor_specs(config)) {
    expected.insert(spec.name);
    const TensorView* t = checkpoint.find(spec.name);
    if (!t)
      return not_found("checkpoint has no tensor '{}' (a {} model with {} layers needs it)",
                       spec.name, config.architecture, config.num_hidden_layers);
    if (t->shape() != spec.shape)
      return invalid_argument("{}: tensor '{}' has shape [{}], config.json implies [{}]",
                              t->file->path().string(), spec.name, fmt::join(t->shape(), ", "),
                              fmt::join(spec.shape, ", "));
    if (t->dtype() != config.torch_dtype)
      return invalid_argument("{}: tensor '{}' is {}, config.json says torch_dtype {}",
                              t->file->path().string(), spec.name, dtype_name(t->dtype()),
                              dtype_name(config.torch_dtype));
  }
  for (const auto& [name, t] : checkpoint.tensors()) {
    if (expected.count(name)) continue;
    if (name == "lm_head.weight" && config.tie_word_embeddings &&
        t.shape() == std::vector<int64_t>{config.vocab_size, config.hidden_size})
      continue;
    return invalid_argument("{}: unexpected tensor '{}' (not part of a {} model with {} layers{})",
                            t.file->path().string(), name, config.architecture,
                            config.num_hidden_layers,
                            name == "lm_head.weight" ? " and tied embeddings" : "");
  }
  return Status::ok();
}

}  // namespace kvtier::model
