// The small-batch GEMM kernels (see skinny_gemm.h).
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/skinny_gemm.h"

namespace kvtier::kernels::cuda {
namespace {

__device__ __forceinline__ uint4 load_x(const bf16* __restrict__ x, int row, int k, int chunk) {
  return __ldg(reinterpret_cast<const uint4*>(x + int64_t(row) * k) + chunk);
}

__device__ __forceinline__ void fma8(float& acc, const uint4& w, const uint4& x) {
  const __nv_bfloat162* wh = reinterpret_cast<const __nv_bfloat162*>(&w);
  const __nv_bfloat162* xh = reinterpret_cast<const __nv_bfloat162*>(&x);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 a = __bfloat1622float2(wh[i]);
    const float2 b = __bfloat1622float2(xh[i]);
    acc = fmaf(a.x, b.x, acc);
    acc = fmaf(a.y, b.y, acc);
  }
}

__device__ __forceinline__ void store(float* y, float v) { *y = v; }
__device__ __forceinline__ void store(bf16* y, float v) { *y = __float2bfloat16(v); }

// ---- scalar: one warp per row of W ----------------------------------------------------------

constexpr int kScalarWarps = 4;
constexpr int kScalarUnroll = 4;

// acc[m] += W row . x row m over the row's 16-byte chunks, the lane taking chunks lane,
// lane + 32, ... The first kScalarUnroll loads of W are issued before the wait for the previous
// kernel (W is never written by one), so under a dependent launch they overlap its tail.
template <int M>
__device__ __forceinline__ void scalar_row_dot(const uint4* __restrict__ wr,
                                               const bf16* __restrict__ x, int k, int lane,
                                               float (&acc)[M]) {
  const int kv = k / 8;
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.f;
  uint4 wv[kScalarUnroll];
#pragma unroll
  for (int u = 0; u < kScalarUnroll; ++u) {
    const int c = lane + 32 * u;
    wv[u] = c < kv ? __ldcs(wr + c) : make_uint4(0, 0, 0, 0);
  }
  wait_for_previous_kernel();
  int c = lane;
  bool first = true;
  for (; c + 32 * (kScalarUnroll - 1) < kv; c += 32 * kScalarUnroll) {
    if (!first) {
#pragma unroll
      for (int u = 0; u < kScalarUnroll; ++u) wv[u] = __ldcs(wr + c + 32 * u);
    }
    first = false;
#pragma unroll
    for (int u = 0; u < kScalarUnroll; ++u) {
#pragma unroll
      for (int m = 0; m < M; ++m) fma8(acc[m], wv[u], load_x(x, m, k, c + 32 * u));
    }
  }
  // The remainder (fewer than kScalarUnroll chunks per lane); when the loop above never ran, the
  // prologue's loads are these chunks.
#pragma unroll
  for (int u = 0; u < kScalarUnroll - 1; ++u) {
    const int cu = c + 32 * u;
    if (cu < kv) {
      const uint4 w_c = first ? wv[u] : __ldcs(wr + cu);
#pragma unroll
      for (int m = 0; m < M; ++m) fma8(acc[m], w_c, load_x(x, m, k, cu));
    }
  }
}

template <int M, typename OutT>
__global__ void __launch_bounds__(kScalarWarps * 32)
    skinny_scalar_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                         OutT* __restrict__ y, int32_t n, int32_t k) {
  allow_next_kernel();
  const int row = blockIdx.x * kScalarWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= n) return;
  float acc[M];
  scalar_row_dot<M>(reinterpret_cast<const uint4*>(w + int64_t(row) * k), x, k, lane, acc);
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float v = warp_sum(acc[m]);
    if (lane == 0) store(y + int64_t(m) * n + row, v);
  }
}

// The MLP's first half at a few rows: W stacks gate rows [0, inter) over up rows [inter, 2 inter);
// each warp computes gate row i and up row i and writes silu(gate) * up. Both are rounded to bf16
// first, exactly as the unfused path (GEMM to bf16, then silu_mul) does, so the two agree bit for
// bit.
template <int M>
__global__ void __launch_bounds__(kScalarWarps * 32)
    skinny_gate_up_silu_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                               bf16* __restrict__ act, int32_t inter, int32_t k) {
  allow_next_kernel();
  const int row = blockIdx.x * kScalarWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= inter) return;
  float gate[M], up[M];
  scalar_row_dot<M>(reinterpret_cast<const uint4*>(w + int64_t(row) * k), x, k, lane, gate);
  scalar_row_dot<M>(reinterpret_cast<const uint4*>(w + (int64_t(inter) + row) * k), x, k, lane,
                    up);
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float g = __bfloat162float(__float2bfloat16(warp_sum(gate[m])));
    const float u = __bfloat162float(__float2bfloat16(warp_sum(up[m])));
    if (lane == 0) act[int64_t(m) * inter + row] = __float2bfloat16(g / (1.f + __expf(-g)) * u);
  }
}

template <typename OutT>
cudaError_t launch_scalar(cudaStream_t stream, bool dependent, const bf16* x, const bf16* w,
                          OutT* y, int32_t m, int32_t n, int32_t k) {
  const dim3 blocks((n + kScalarWarps - 1) / kScalarWarps), threads(kScalarWarps * 32);
  switch (m) {
#define KVTIER_SKINNY_CASE(M)                                                                \
  case M:                                                                                    \
    return launch_kernel(skinny_scalar_kernel<M, OutT>, blocks, threads, 0, stream, dependent, \
                         x, w, y, n, k);
    KVTIER_SKINNY_CASE(1)
    KVTIER_SKINNY_CASE(2)
    KVTIER_SKINNY_CASE(3)
    KVTIER_SKINNY_CASE(4)
    KVTIER_SKINNY_CASE(5)
    KVTIER_SKINNY_CASE(6)
    KVTIER_SKINNY_CASE(7)
    default:
      return launch_kernel(skinny_scalar_kernel<8, OutT>, blocks, threads, 0, stream, dependent,
                           x, w, y, n, k);
#undef KVTIER_SKINNY_CASE
  }
}

cudaError_t launch_gate_up_silu(cudaStream_t stream, bool dependent, const bf16* x,
                                const bf16* w, bf16* act, int32_t m, int32_t inter, int32_t k) {
  const dim3 blocks((inter + kScalarWarps - 1) / kScalarWarps), threads(kScalarWarps * 32);
  switch (m) {
#define KVTIER_GATE_UP_CASE(M)                                                               \
  case M:                                                                                    \
    return launch_kernel(skinny_gate_up_silu_kernel<M>, blocks, threads, 0, stream, dependent, \
                         x, w, act, inter, k);
    KVTIER_GATE_UP_CASE(1)
    KVTIER_GATE_UP_CASE(2)
    KVTIER_GATE_UP_CASE(3)
    KVTIER_GATE_UP_CASE(4)
    KVTIER_GATE_UP_CASE(5)
    KVTIER_GATE_UP_CASE(6)
    KVTIER_GATE_UP_CASE(7)
    default:
      return launch_kernel(skinny_gate_up_silu_kernel<8>, blocks, threads, 0, stream, dependent,
                           x, w, act, inter, k);
#undef KVTIER_GATE_UP_CASE
  }
}

// ---- tensor core: 16 rows of W per block, k split over 8 warps --------------------------------
//
// An m16n8k16 MMA with A = 16 rows of W and B = x^T (the n = 8 columns are x's rows). Lane
// (g = lane / 4, t = lane % 4) loads 16 bytes of W rows g and g + 8 and of x row g at elements
// [8t, 8t + 8) of a 32-wide k chunk; the MMA's k index is mapped onto those elements the same way
// for A and B (its pair {2t, 2t+1} is element 8t + 4s + {0, 1}, its pair {2t+8, 2t+9} is element
// 8t + 4s + {2, 3}, for the chunk's two MMAs s = 0, 1), so the dot products come out unchanged and
// every load is a full 16 bytes.

constexpr int kTcWarps = 8;
constexpr int kTcUnroll = 4;

template <typename OutT>
__global__ void __launch_bounds__(kTcWarps * 32)
    skinny_tc_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w, OutT* __restrict__ y,
                     int32_t m, int32_t n, int32_t k) {
  __shared__ float4 partial[kTcWarps][32];
  allow_next_kernel();
  wait_for_previous_kernel();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int row_lo = blockIdx.x * 16 + g, row_hi = row_lo + 8;
  const bool ok_lo = row_lo < n, ok_hi = row_hi < n, ok_x = g < m;
  const uint4* w_lo = reinterpret_cast<const uint4*>(w + int64_t(ok_lo ? row_lo : 0) * k);
  const uint4* w_hi = reinterpret_cast<const uint4*>(w + int64_t(ok_hi ? row_hi : 0) * k);
  const int chunks = k / 32;
  const uint4 zero = make_uint4(0, 0, 0, 0);
  float acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int c0 = warp; c0 < chunks; c0 += kTcWarps * kTcUnroll) {
    uint4 wl[kTcUnroll], wh[kTcUnroll], xv[kTcUnroll];
#pragma unroll
    for (int u = 0; u < kTcUnroll; ++u) {
      const int c = c0 + u * kTcWarps;
      const bool in = c < chunks;
      wl[u] = in && ok_lo ? __ldcs(w_lo + c * 4 + t) : zero;
      wh[u] = in && ok_hi ? __ldcs(w_hi + c * 4 + t) : zero;
      xv[u] = in && ok_x ? load_x(x, g, k, c * 4 + t) : zero;
    }
#pragma unroll
    for (int u = 0; u < kTcUnroll; ++u) {
      const uint32_t a0[4] = {wl[u].x, wh[u].x, wl[u].y, wh[u].y};
      mma_bf16_16816(acc, a0, xv[u].x, xv[u].y);
      const uint32_t a1[4] = {wl[u].z, wh[u].z, wl[u].w, wh[u].w};
      mma_bf16_16816(acc, a1, xv[u].z, xv[u].w);
    }
  }
  partial[warp][lane] = make_float4(acc[0], acc[1], acc[2], acc[3]);
  __syncthreads();
  if (warp != 0) return;
  float4 v = partial[0][lane];
#pragma unroll
  for (int i = 1; i < kTcWarps; ++i) {
    const float4 p = partial[i][lane];
    v.x += p.x;
    v.y += p.y;
    v.z += p.z;
    v.w += p.w;
  }
  // Accumulator layout: (row g, x rows 2t and 2t+1), then (row g + 8, the same x rows).
  const int m0 = 2 * t, m1 = 2 * t + 1;
  if (ok_lo && m0 < m) store(y + int64_t(m0) * n + row_lo, v.x);
  if (ok_lo && m1 < m) store(y + int64_t(m1) * n + row_lo, v.y);
  if (ok_hi && m0 < m) store(y + int64_t(m0) * n + row_hi, v.z);
  if (ok_hi && m1 < m) store(y + int64_t(m1) * n + row_hi, v.w);
}

template <typename OutT>
cudaError_t launch(cudaStream_t stream, bool dependent, const bf16* x, const bf16* w, OutT* y,
                   int32_t m, int32_t n, int32_t k, SkinnyKernel kernel) {
  if (kernel == SkinnyKernel::kTensorCore && k % 32 == 0) {
    return launch_kernel(skinny_tc_kernel<OutT>, dim3((n + 15) / 16), dim3(kTcWarps * 32), 0,
                         stream, dependent, x, w, y, m, n, k);
  }
  return launch_scalar<OutT>(stream, dependent, x, w, y, m, n, k);
}

}  // namespace

KernelStatus skinny_gemm(cudaStream_t stream, const bf16* x, const bf16* w, void* y, OutType out,
                         int32_t m, int32_t n, int32_t k, SkinnyKernel kernel, bool dependent) {
  if (m <= 0 || n <= 0) return kernel_ok();
  if (m > kSkinnyMaxRows)
    return kernel_arg_error("skinny_gemm: ", m, " rows, at most ", kSkinnyMaxRows);
  if (k % 8 != 0) return kernel_arg_error("skinny_gemm: k = ", k, " is not a multiple of 8");
  const cudaError_t err =
      out == OutType::kF32
          ? launch<float>(stream, dependent, x, w, static_cast<float*>(y), m, n, k, kernel)
          : launch<bf16>(stream, dependent, x, w, static_cast<bf16*>(y), m, n, k, kernel);
  return kernel_cuda_status(err, "skinny_gemm");
}

KernelStatus skinny_gate_up_silu(cudaStream_t stream, const bf16* x, const bf16* w, bf16* act,
                                 int32_t m, int32_t inter, int32_t k, bool dependent) {
  if (m <= 0 || inter <= 0) return kernel_ok();
  if (m > kSkinnyMaxRows)
    return kernel_arg_error("skinny_gate_up_silu: ", m, " rows, at most ", kSkinnyMaxRows);
  if (k % 8 != 0)
    return kernel_arg_error("skinny_gate_up_silu: k = ", k, " is not a multiple of 8");
  return kernel_cuda_status(launch_gate_up_silu(stream, dependent, x, w, act, m, inter, k),
                            "skinny_gate_up_silu");
}

}  // namespace kvtier::kernels::cuda
