#pragma once
// The attention prologue after the fused QKV projection: per-head RMSNorm of q and k (Qwen3's
// q_norm / k_norm), rotary embedding (neox rotate-half), and the write of k and v into the paged
// KV pool at each token's slot.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/paged_kv.h"

namespace kvtier::kernels::cuda {

struct RopeKvArgs {
  const bf16* qkv = nullptr;              // [tokens][(num_heads + 2 * num_kv_heads) * head_dim]
  const int32_t* positions = nullptr;     // [tokens]
  const int32_t* slot_mapping = nullptr;  // [tokens] block * block_size + offset; < 0: no write
  const bf16* q_norm_weight = nullptr;    // [head_dim]
  const bf16* k_norm_weight = nullptr;    // [head_dim]
  const float* inv_freq = nullptr;        // [head_dim / 2] theta^(-2i / head_dim)
  bf16* q_out = nullptr;                  // [tokens][num_heads][head_dim]
  PagedKv kv;                             // destination of k and v
  int32_t num_tokens = 0;
  int32_t num_heads = 0;
  float eps = 1e-6f;
  bool dependent_launch = false;  // a programmatic dependent launch (dependent_launch.cuh)
};

KernelStatus qk_norm_rope_kv_write(cudaStream_t stream, const RopeKvArgs& args);

// theta^(-2i / head_dim) for i < head_dim / 2, computed in double and rounded once.
void rope_inv_freq(double theta, int32_t head_dim, float* out);

}  // namespace kvtier::kernels::cuda
