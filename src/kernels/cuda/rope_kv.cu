#include <cmath>

#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/rope_kv.h"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

// One warp per (token, head) where heads run over q heads, then k heads, then v heads. Lane l
// holds the rotary pairs (i, i + D/2) for i = l, l + 32, ... below D/2.
template <int D>
__global__ void qk_norm_rope_kv_kernel(RopeKvArgs a) {
  constexpr int kHalf = D / 2;
  constexpr int kPairs = (kHalf + 31) / 32;
  allow_next_kernel();
  wait_for_previous_kernel();
  const int warp = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int heads_total = a.num_heads + 2 * a.kv.num_kv_heads;
  if (warp >= a.num_tokens * heads_total) return;
  const int token = warp / heads_total;
  const int head = warp % heads_total;
  const bf16* src = a.qkv + int64_t(token) * heads_total * D + int64_t(head) * D;

  float x1[kPairs], x2[kPairs];
#pragma unroll
  for (int p = 0; p < kPairs; ++p) {
    const int i = p * 32 + lane;
    x1[p] = i < kHalf ? __bfloat162float(src[i]) : 0.f;
    x2[p] = i < kHalf ? __bfloat162float(src[i + kHalf]) : 0.f;
  }

  const bool is_q = head < a.num_heads;
  const bool is_k = !is_q && head < a.num_heads + a.kv.num_kv_heads;
  if (is_q || is_k) {
    float ss = 0.f;
#pragma unroll
    for (int p = 0; p < kPairs; ++p) ss += x1[p] * x1[p] + x2[p] * x2[p];
    ss = warp_sum(ss);
    const float inv = rsqrtf(ss / float(D) + a.eps);
    const bf16* w = is_q ? a.q_norm_weight : a.k_norm_weight;
    const float pos = float(a.positions[token]);
#pragma unroll
    for (int p = 0; p < kPairs; ++p) {
      const int i = p * 32 + lane;
      if (i >= kHalf) continue;
      const float n1 = x1[p] * inv * __bfloat162float(w[i]);
      const float n2 = x2[p] * inv * __bfloat162float(w[i + kHalf]);
      float s, c;
      sincosf(pos * a.inv_freq[i], &s, &c);
      x1[p] = n1 * c - n2 * s;
      x2[p] = n2 * c + n1 * s;
    }
  }

  bf16* dst;
  if (is_q) {
    dst = a.q_out + (int64_t(token) * a.num_heads + head) * D;
  } else {
    const int32_t slot = a.slot_mapping[token];
    if (slot < 0) return;
    const int32_t block = slot / a.kv.block_size;
    const int32_t offset = slot % a.kv.block_size;
    const int kv_head = is_k ? head - a.num_heads : head - a.num_heads - a.kv.num_kv_heads;
    bf16* plane = is_k ? a.kv.k : a.kv.v;
    dst = plane + int64_t(block) * a.kv.block_stride + int64_t(offset) * a.kv.token_stride +
          int64_t(kv_head) * D;
  }
#pragma unroll
  for (int p = 0; p < kPairs; ++p) {
    const int i = p * 32 + lane;
    if (i >= kHalf) continue;
    dst[i] = __float2bfloat16(x1[p]);
    dst[i + kHalf] = __float2bfloat16(x2[p]);
  }
}

}  // namespace

void rope_inv_freq(double theta, int32_t head_dim, float* out) {
  for (int32_t i = 0; i < head_dim / 2; ++i)
    out[i] = float(std::pow(theta, -2.0 * i / double(head_dim)));
}

KernelStatus qk_norm_rope_kv_write(cudaStream_t stream, const RopeKvArgs& args) {
  const int d = args.kv.head_dim;
  if (args.num_tokens <= 0) return kernel_ok();
  const int64_t warps = int64_t(args.num_tokens) * (args.num_heads + 2 * args.kv.num_kv_heads);
  const int64_t blocks = (warps + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const int threads = kWarpsPerBlock * 32;
  switch (d) {
    case 16:
      return kernel_cuda_status(launch_kernel(qk_norm_rope_kv_kernel<16>, dim3(blocks),
                                             dim3(threads), 0, stream, args.dependent_launch,
                                             args),
                                "qk_norm_rope_kv_write");
    case 32:
      return kernel_cuda_status(launch_kernel(qk_norm_rope_kv_kernel<32>, dim3(blocks),
                                             dim3(threads), 0, stream, args.dependent_launch,
                                             args),
                                "qk_norm_rope_kv_write");
    case 64:
      return kernel_cuda_status(launch_kernel(qk_norm_rope_kv_kernel<64>, dim3(blocks),
                                             dim3(threads), 0, stream, args.dependent_launch,
                                             args),
                                "qk_norm_rope_kv_write");
    case 128:
      return kernel_cuda_status(launch_kernel(qk_norm_rope_kv_kernel<128>, dim3(blocks),
                                             dim3(threads), 0, stream, args.dependent_launch,
                                             args),
                                "qk_norm_rope_kv_write");
    default:
      return kernel_arg_error("qk_norm_rope_kv_write: head_dim ", d,
                              " is not supported (16, 32, 64, 128)");
  }
}

}  // namespace kvtier::kernels::cuda
