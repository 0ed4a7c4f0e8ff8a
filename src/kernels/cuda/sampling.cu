#include <cmath>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/sampling.h"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kThreads = 1024;

__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
  // NaN never wins; ties go to the lower index.
  if (ov > v || (ov == v && oi < i) || (v != v && ov == ov)) {
    v = ov;
    i = oi;
  }
}

__global__ void argmax_kernel(const float* __restrict__ logits, int32_t vocab,
                              int32_t* __restrict__ ids) {
  const float* row = logits + int64_t(blockIdx.x) * vocab;
  float best = -INFINITY;
  int idx = 0x7fffffff;
  for (int i = threadIdx.x; i < vocab; i += kThreads) better(best, idx, row[i], i);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    better(best, idx, ov, oi);
  }
  __shared__ float sv[kThreads / 32];
  __shared__ int si[kThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    sv[warp] = best;
    si[warp] = idx;
  }
  __syncthreads();
  if (warp == 0) {
    best = sv[lane];
    idx = si[lane];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, o);
      const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
      better(best, idx, ov, oi);
    }
    if (lane == 0) ids[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
  }
}

}  // namespace

KernelStatus argmax_rows(cudaStream_t stream, const float* logits, int32_t rows, int32_t vocab,
                         int32_t* ids) {
  if (rows <= 0) return kernel_ok();
  if (vocab <= 0) return kernel_arg_error("argmax_rows: vocabulary size ", vocab);
  argmax_kernel<<<rows, kThreads, 0, stream>>>(logits, vocab, ids);
  return kernel_launch_status("argmax_rows");
}

}  // namespace kvtier::kernels::cuda
