#pragma once
// A Qwen3 model's weights on the device in bf16, in one allocation: q/k/v projections stacked
// into one [q; k; v] matrix and gate/up into one [gate; up] matrix so each is one GEMM. Loaded from
// a checkpoint (any of bf16/fp16/fp32, converted on the device) or filled with seeded random values
// on the device (benchmarks of the real shapes without writing tens of GB to disk).
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/paged_kv.h"
#include "model/checkpoint.h"
#include "model/config.h"

namespace kvtier::model::cuda {

using kernels::cuda::bf16;

struct CudaLayerWeights {
  const bf16* input_norm = nullptr;  // [hidden]
  const bf16* qkv = nullptr;         // [(heads + 2 kv_heads) * head_dim][hidden]
  const bf16* q_norm = nullptr;      // [head_dim]
  const bf16* k_norm = nullptr;      // [head_dim]
  const bf16* o_proj = nullptr;      // [hidden][heads * head_dim]
  const bf16* post_norm = nullptr;   // [hidden]
  const bf16* gate_up = nullptr;     // [2 * intermediate][hidden]
  const bf16* down = nullptr;        // [hidden][intermediate]
};

struct CudaWeights {
  kernels::cuda::DeviceBuffer storage;
  const bf16* embed = nullptr;       // [vocab][hidden]
  const bf16* final_norm = nullptr;  // [hidden]
  const bf16* lm_head = nullptr;     // [vocab][hidden]; the embedding when tied
  std::vector<CudaLayerWeights> layers;
  size_t bytes() const { return storage.bytes(); }
};

// Checks the checkpoint against the config (validate_qwen3_tensors) and uploads it.
Expected<CudaWeights> load_cuda_weights(const ModelConfig& config, const Checkpoint& checkpoint,
                                        cudaStream_t stream);

// Uniform random weights of unit-variance-preserving scale, norms at 1.
Expected<CudaWeights> random_cuda_weights(const ModelConfig& config, uint64_t seed,
                                          cudaStream_t stream);

}  // namespace kvtier::model::cuda
