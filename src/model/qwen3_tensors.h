#pragma once
// The tensors a Qwen3ForCausalLM checkpoint holds, with the shapes its config implies, and the
// check that a checkpoint holds exactly those. Shared by every backend's loader and by the
// checkpoint writer.
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace kvtier::model {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// In Hugging Face's module order: embedding, layers 0..N-1, final norm, lm_head (untied only).
std::vector<TensorSpec> qwen3_tensor_specs(const ModelConfig& config);

std::string qwen3_layer_tensor(int layer, const char* suffix);  // "model.layers.N.<suffix>"

// Every expected tensor present with its shape and config.torch_dtype, and nothing else (a tied
// model's redundant lm_head.weight of the right shape is tolerated, as transformers does).
// Errors name the tensor, its file and the mismatch.
Status validate_qwen3_tensors(const ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace kvtier::model
