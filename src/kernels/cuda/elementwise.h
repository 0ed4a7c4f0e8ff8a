#pragma once
// Small memory-bound kernels of the forward pass: embedding lookup, SiLU-gated activation, row
// gather, and weight conversion / random initialisation to bf16.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/paged_kv.h"

namespace kvtier::kernels::cuda {

// residual[t][:] = float(table[ids[t]][:]); ids outside [0, vocab) read row 0 (callers validate).
KernelStatus embedding_lookup(cudaStream_t stream, const int32_t* ids, const bf16* table,
                              float* residual, int32_t tokens, int32_t hidden, int32_t vocab);

// out[t][i] = silu(gate_up[t][i]) * gate_up[t][inter + i]; inter must be a multiple of 8.
// `dependent`: a programmatic dependent launch (dependent_launch.cuh).
KernelStatus silu_mul(cudaStream_t stream, const bf16* gate_up, bf16* out, int32_t tokens,
                      int32_t inter, bool dependent = false);

// dst[i][:] = src[rows[i]][:] for i < num_rows; cols must be a multiple of 8.
KernelStatus gather_rows(cudaStream_t stream, const bf16* src, const int32_t* rows, bf16* dst,
                         int32_t num_rows, int32_t cols);

// dst[i] = src[i] for i < n, copied by the SMs instead of a copy engine. For small transfers on
// a step's critical path between device memory and pinned host memory (whose pointers are valid
// on the device under unified addressing): a copy engine may have to finish bulk KV-tier copies
// queued before them, a kernel does not.
KernelStatus copy_words(cudaStream_t stream, const uint32_t* src, uint32_t* dst, int64_t n);

enum class SourceType { kF32, kF16, kBF16 };
// dst[i] = bf16(src[i]) for i < n.
KernelStatus convert_to_bf16(cudaStream_t stream, const void* src, SourceType type, bf16* dst,
                             int64_t n);

// dst[i] = bf16(uniform(-scale, scale)) from a counter-based hash of (seed, i): the same values
// on every device and launch shape.
KernelStatus fill_uniform(cudaStream_t stream, bf16* dst, int64_t n, uint64_t seed, float scale);
// dst[i] = bf16(value).
KernelStatus fill_constant(cudaStream_t stream, bf16* dst, int64_t n, float value);

}  // namespace kvtier::kernels::cuda
