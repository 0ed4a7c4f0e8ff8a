#pragma once
// y = x * W^T for a handful of rows of x (decode at small batch), x [m][k], W [n][k] bf16,
// y [m][n] bf16 or fp32: the cost is reading W once, so these kernels stream W with 16-byte loads.
//  - scalar: each warp streams one row of W and multiplies it with every row of x in fp32 FMAs;
//    best for one row, slower as rows add FMAs and x reads per W byte.
//  - tensor core: each block computes 16 rows of W against up to 8 rows of x with bf16 MMAs
//    (x rows are the MMA's n = 8 columns), its 8 warps splitting k; k must be a multiple of 32.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/paged_kv.h"

namespace kvtier::kernels::cuda {

enum class OutType { kBF16, kF32 };
enum class SkinnyKernel { kScalar, kTensorCore };

inline constexpr int32_t kSkinnyMaxRows = 8;

// m <= kSkinnyMaxRows, k a multiple of 8 (the tensor-core kernel falls back to the scalar one when
// k is not a multiple of 32), x and W 16-byte aligned. `dependent`: a programmatic dependent
// launch (dependent_launch.cuh), whose weight loads start before the previous kernel finishes.
KernelStatus skinny_gemm(cudaStream_t stream, const bf16* x, const bf16* w, void* y, OutType out,
                         int32_t m, int32_t n, int32_t k,
                         SkinnyKernel kernel = SkinnyKernel::kScalar, bool dependent = false);

// The SiLU-gated MLP activation fused into the gate/up projection (scalar kernel): w stacks the
// gate rows [0, inter) over the up rows [inter, 2 inter) ([2 inter][k]); act [m][inter] =
// silu(x * gate^T) * (x * up^T), each product rounded to bf16 first, so the result equals
// skinny_gemm(kScalar) followed by silu_mul bit for bit.
KernelStatus skinny_gate_up_silu(cudaStream_t stream, const bf16* x, const bf16* w, bf16* act,
                                 int32_t m, int32_t inter, int32_t k, bool dependent = false);

}  // namespace kvtier::kernels::cuda
