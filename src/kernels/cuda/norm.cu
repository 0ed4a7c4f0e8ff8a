#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/reduce.cuh"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row; each thread keeps its slice of the row in registers between the two passes
// when it fits (hidden <= kThreads * 8 * kMaxVecs), else re-reads it.
template <int kMaxVecs>
__global__ void add_rmsnorm_kernel(float* __restrict__ residual, const bf16* __restrict__ x,
                                   const bf16* __restrict__ weight, bf16* __restrict__ out,
                                   int32_t hidden, float eps) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t row = blockIdx.x;
  float* r = residual + row * hidden;
  const bf16* xr = x ? x + row * hidden : nullptr;
  bf16* o = out + row * hidden;
  const int nvec = hidden / 8;

  float vals[kMaxVecs][8];
  float sumsq = 0.f;
#pragma unroll
  for (int i = 0; i < kMaxVecs; ++i) {
    const int v = threadIdx.x + i * kThreads;
    if (v < nvec) {
      float4 a = reinterpret_cast<const float4*>(r)[2 * v];
      float4 b = reinterpret_cast<const float4*>(r)[2 * v + 1];
      float f[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
      if (xr) {
        uint4 raw = reinterpret_cast<const uint4*>(xr)[v];
        const bf16* xb = reinterpret_cast<const bf16*>(&raw);
#pragma unroll
        for (int j = 0; j < 8; ++j) f[j] += __bfloat162float(xb[j]);
        reinterpret_cast<float4*>(r)[2 * v] = make_float4(f[0], f[1], f[2], f[3]);
        reinterpret_cast<float4*>(r)[2 * v + 1] = make_float4(f[4], f[5], f[6], f[7]);
      }
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        vals[i][j] = f[j];
        sumsq += f[j] * f[j];
      }
    }
  }
  sumsq = block_sum<kThreads>(sumsq);
  const float inv = rsqrtf(sumsq / float(hidden) + eps);
#pragma unroll
  for (int i = 0; i < kMaxVecs; ++i) {
    const int v = threadIdx.x + i * kThreads;
    if (v < nvec) {
      uint4 wraw = reinterpret_cast<const uint4*>(weight)[v];
      const bf16* wb = reinterpret_cast<const bf16*>(&wraw);
      uint4 outraw;
      bf16* ob = reinterpret_cast<bf16*>(&outraw);
#pragma unroll
      for (int j = 0; j < 8; ++j)
        ob[j] = __float2bfloat16(vals[i][j] * inv * __bfloat162float(wb[j]));
      reinterpret_cast<uint4*>(o)[v] = outraw;
    }
  }
}

}  // namespace

KernelStatus add_rmsnorm(cudaStream_t stream, float* residual, const bf16* x, const bf16* weight,
                         bf16* out, int32_t rows, int32_t hidden, float eps, bool dependent) {
  if (hidden % 8 != 0)
    return kernel_arg_error("add_rmsnorm: hidden size ", hidden, " is not a multiple of 8");
  if (rows <= 0) return kernel_ok();
  const int nvec = hidden / 8;
  if (nvec <= kThreads) {
    return kernel_cuda_status(launch_kernel(add_rmsnorm_kernel<1>, dim3(rows), dim3(kThreads), 0,
                                           stream, dependent, residual, x, weight, out, hidden,
                                           eps),
                              "add_rmsnorm");
  } else if (nvec <= 2 * kThreads) {
    return kernel_cuda_status(launch_kernel(add_rmsnorm_kernel<2>, dim3(rows), dim3(kThreads), 0,
                                           stream, dependent, residual, x, weight, out, hidden,
                                           eps),
                              "add_rmsnorm");
  } else if (nvec <= 4 * kThreads) {
    return kernel_cuda_status(launch_kernel(add_rmsnorm_kernel<4>, dim3(rows), dim3(kThreads), 0,
                                           stream, dependent, residual, x, weight, out, hidden,
                                           eps),
                              "add_rmsnorm");
  } else if (nvec <= 8 * kThreads) {
    return kernel_cuda_status(launch_kernel(add_rmsnorm_kernel<8>, dim3(rows), dim3(kThreads), 0,
                                           stream, dependent, residual, x, weight, out, hidden,
                                           eps),
                              "add_rmsnorm");
  } else {
    return kernel_arg_error("add_rmsnorm: hidden size ", hidden, " is larger than ", 64 * kThreads);
  }
}

}  // namespace kvtier::kernels::cuda
