#pragma once
// Fused residual add + RMSNorm over rows of `hidden` elements (fp32 math). The residual stream is
// kept in fp32 so that many layers of bf16 rounding do not accumulate in it.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/paged_kv.h"

namespace kvtier::kernels::cuda {

// For each of `rows` rows: residual += x (when x is not null), then
// out = residual / sqrt(mean(residual^2) + eps) * weight. `hidden` must be a multiple of 8.
// `dependent`: a programmatic dependent launch (dependent_launch.cuh).
KernelStatus add_rmsnorm(cudaStream_t stream, float* residual, const bf16* x, const bf16* weight,
                         bf16* out, int32_t rows, int32_t hidden, float eps,
                         bool dependent = false);

}  // namespace kvtier::kernels::cuda
