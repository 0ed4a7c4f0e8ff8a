#pragma once
// A Qwen3 checkpoint's weights as fp32 host arrays for the CPU backend, converted once at load.
// q/k/v and gate/up projections are stacked so each is one GEMM per layer.
#include <vector>

#include "common/status.h"
#include "kernels/thread_pool.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace kvtier::model {

struct CpuLayerWeights {
  std::vector<float> input_norm;  // [hidden]
  std::vector<float> qkv;         // [(heads + 2 kv_heads) * head_dim][hidden]: q, k, v rows
  std::vector<float> q_norm;      // [head_dim]
  std::vector<float> k_norm;      // [head_dim]
  std::vector<float> o_proj;      // [hidden][heads * head_dim]
  std::vector<float> post_norm;   // [hidden]
  std::vector<float> gate_up;     // [2 * intermediate][hidden]: gate rows, then up rows
  std::vector<float> down;        // [hidden][intermediate]
};

struct CpuWeights {
  std::vector<float> embed;  // [vocab][hidden]
  std::vector<CpuLayerWeights> layers;
  std::vector<float> final_norm;  // [hidden]
  std::vector<float> lm_head;     // [vocab][hidden]; empty when the embedding is tied
  const float* lm_head_data() const { return lm_head.empty() ? embed.data() : lm_head.data(); }
};

// Checks the checkpoint (validate_qwen3_tensors) and converts it.
Expected<CpuWeights> load_cpu_weights(const ModelConfig& config, const Checkpoint& checkpoint,
                                      kernels::ThreadPool& pool);

// --load-format dummy: the values `kvtier make-model` would write with this seed (rounded through
// config.torch_dtype), made in memory.
Expected<CpuWeights> random_cpu_weights(const ModelConfig& config, uint64_t seed,
                                        kernels::ThreadPool& pool);

}  // namespace kvtier::model
