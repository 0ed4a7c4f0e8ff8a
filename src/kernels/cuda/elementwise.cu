#include <cuda_fp16.h>

#include <algorithm>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/kernel_status.h"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n) { return int(std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 20)); }

__global__ void embedding_kernel(const int32_t* __restrict__ ids, const bf16* __restrict__ table,
                                 float* __restrict__ residual, int32_t hidden, int32_t vocab) {
  const int t = blockIdx.x;
  int32_t id = ids[t];
  if (id < 0 || id >= vocab) id = 0;
  const bf16* src = table + int64_t(id) * hidden;
  float* dst = residual + int64_t(t) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = __bfloat162float(src[i]);
}

__global__ void silu_mul_kernel(const bf16* __restrict__ gate_up, bf16* __restrict__ out,
                                int64_t total_vecs, int32_t inter_vecs) {
  allow_next_kernel();
  wait_for_previous_kernel();
  for (int64_t v = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; v < total_vecs;
       v += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = v / inter_vecs, i = v % inter_vecs;
    const uint4 g = reinterpret_cast<const uint4*>(gate_up)[t * 2 * inter_vecs + i];
    const uint4 u = reinterpret_cast<const uint4*>(gate_up)[t * 2 * inter_vecs + inter_vecs + i];
    const bf16* gb = reinterpret_cast<const bf16*>(&g);
    const bf16* ub = reinterpret_cast<const bf16*>(&u);
    uint4 r;
    bf16* rb = reinterpret_cast<bf16*>(&r);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const float x = __bfloat162float(gb[j]);
      rb[j] = __float2bfloat16(x / (1.f + __expf(-x)) * __bfloat162float(ub[j]));
    }
    reinterpret_cast<uint4*>(out)[v] = r;
  }
}

__global__ void gather_rows_kernel(const bf16* __restrict__ src, const int32_t* __restrict__ rows,
                                   bf16* __restrict__ dst, int32_t col_vecs) {
  const int i = blockIdx.x;
  const uint4* s = reinterpret_cast<const uint4*>(src) + int64_t(rows[i]) * col_vecs;
  uint4* d = reinterpret_cast<uint4*>(dst) + int64_t(i) * col_vecs;
  for (int c = threadIdx.x; c < col_vecs; c += blockDim.x) d[c] = s[c];
}

__global__ void copy_words_kernel(const uint32_t* __restrict__ src, uint32_t* __restrict__ dst,
                                  int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    dst[i] = src[i];
  }
}

template <typename T>
__device__ __forceinline__ float to_float(T v);
template <>
__device__ __forceinline__ float to_float(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_float(__half v) {
  return __half2float(v);
}

template <typename T>
__global__ void convert_kernel(const T* __restrict__ src, bf16* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16(to_float(src[i]));
}

__device__ __forceinline__ uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__global__ void fill_uniform_kernel(bf16* __restrict__ dst, int64_t n, uint64_t seed, float scale) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t h = splitmix64(seed * 0x2545f4914f6cdd1dull + uint64_t(i));
    const float u = float(h >> 40) * (1.f / 16777216.f);  // [0, 1)
    dst[i] = __float2bfloat16((2.f * u - 1.f) * scale);
  }
}

__global__ void fill_constant_kernel(bf16* __restrict__ dst, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16(value);
}

}  // namespace

KernelStatus embedding_lookup(cudaStream_t stream, const int32_t* ids, const bf16* table,
                              float* residual, int32_t tokens, int32_t hidden, int32_t vocab) {
  if (tokens <= 0) return kernel_ok();
  embedding_kernel<<<tokens, kThreads, 0, stream>>>(ids, table, residual, hidden, vocab);
  return kernel_launch_status("embedding_lookup");
}

KernelStatus silu_mul(cudaStream_t stream, const bf16* gate_up, bf16* out, int32_t tokens,
                      int32_t inter, bool dependent) {
  if (inter % 8 != 0)
    return kernel_arg_error("silu_mul: intermediate size ", inter, " is not a multiple of 8");
  const int64_t total = int64_t(tokens) * (inter / 8);
  if (total <= 0) return kernel_ok();
  return kernel_cuda_status(launch_kernel(silu_mul_kernel, dim3(grid_for(total)), dim3(kThreads),
                                         0, stream, dependent, gate_up, out, total,
                                         int32_t(inter / 8)),
                            "silu_mul");
}

KernelStatus gather_rows(cudaStream_t stream, const bf16* src, const int32_t* rows, bf16* dst,
                         int32_t num_rows, int32_t cols) {
  if (cols % 8 != 0)
    return kernel_arg_error("gather_rows: ", cols, " columns is not a multiple of 8");
  if (num_rows <= 0) return kernel_ok();
  gather_rows_kernel<<<num_rows, 128, 0, stream>>>(src, rows, dst, cols / 8);
  return kernel_launch_status("gather_rows");
}

KernelStatus copy_words(cudaStream_t stream, const uint32_t* src, uint32_t* dst, int64_t n) {
  if (n <= 0) return kernel_ok();
  // Many words in flight hide the ~1 us latency of each read across PCIe.
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, 64);
  copy_words_kernel<<<int(blocks), 256, 0, stream>>>(src, dst, n);
  return kernel_launch_status("copy_words");
}

KernelStatus convert_to_bf16(cudaStream_t stream, const void* src, SourceType type, bf16* dst,
                             int64_t n) {
  if (n <= 0) return kernel_ok();
  switch (type) {
    case SourceType::kF32:
      convert_kernel<<<grid_for(n), kThreads, 0, stream>>>(static_cast<const float*>(src), dst, n);
      break;
    case SourceType::kF16:
      convert_kernel<<<grid_for(n), kThreads, 0, stream>>>(static_cast<const __half*>(src), dst, n);
      break;
    case SourceType::kBF16:
      return kernel_cuda_status(
          cudaMemcpyAsync(dst, src, n * sizeof(bf16), cudaMemcpyDefault, stream),
          "convert_to_bf16 copy");
  }
  return kernel_launch_status("convert_to_bf16");
}

KernelStatus fill_uniform(cudaStream_t stream, bf16* dst, int64_t n, uint64_t seed, float scale) {
  if (n <= 0) return kernel_ok();
  fill_uniform_kernel<<<grid_for(n), kThreads, 0, stream>>>(dst, n, seed, scale);
  return kernel_launch_status("fill_uniform");
}

KernelStatus fill_constant(cudaStream_t stream, bf16* dst, int64_t n, float value) {
  if (n <= 0) return kernel_ok();
  fill_constant_kernel<<<grid_for(n), kThreads, 0, stream>>>(dst, n, value);
  return kernel_launch_status("fill_constant");
}

}  // namespace kvtier::kernels::cuda
