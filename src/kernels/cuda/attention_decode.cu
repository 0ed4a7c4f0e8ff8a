// Decode attention (one query token per sequence), flash-decoding style. A thread block handles
// one (sequence, kv head, split) and all `G` query heads that share the kv head, so each key and
// value is read once per step for the whole group. The context is cut into partitions of
// kPartTokens positions; split s takes partitions s, s + S, s + 2S, ... so the grid does not
// depend on the context length (a captured CUDA graph stays valid). Within a warp, D/8 lanes
// cover one token's row with 16-byte loads.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/kernel_status.h"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kUnroll = 4;

template <int D>
struct DecodeShape {
  static constexpr int kLanesPerToken = D / 8;
  static constexpr int kTokensPerLoad = 32 / kLanesPerToken;
  static constexpr int kChunkTokens = kTokensPerLoad * kUnroll;  // per warp per iteration
  static constexpr int kPartTokens = kChunkTokens * kWarps;      // per block per iteration
};

__device__ __forceinline__ void bf16x8_to_float(const uint4& raw, float (&f)[8]) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 v = __bfloat1622float2(h[i]);
    f[2 * i] = v.x;
    f[2 * i + 1] = v.y;
  }
}

template <int D, int G>
__global__ void __launch_bounds__(kThreads)
    decode_attention_kernel(AttentionArgs a, DecodeAttentionMeta m, float* part_acc,
                            float* part_ml) {
  using Shape = DecodeShape<D>;
  constexpr int L = Shape::kLanesPerToken;
  __shared__ float sm_acc[kWarps][G][D];
  __shared__ float sm_max[kWarps][G];
  __shared__ float sm_sum[kWarps][G];
  allow_next_kernel();
  wait_for_previous_kernel();

  const int split = blockIdx.x, kv_head = blockIdx.y, seq = blockIdx.z;
  const int num_splits = gridDim.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int tok_lane = lane / L;  // which token of a load group this lane reads
  const int dchunk = lane % L;    // which 8 dims of it
  const int ctx = m.context_len[seq];
  const int start = m.start_pos ? min(m.start_pos[seq], ctx) : 0;
  const int row = m.token_row[seq];
  const int32_t* bt = m.block_ids + (ctx > 0 ? m.block_table_offset[seq] : 0);
  const float scale_log2 = a.scale * 1.4426950408889634f;

  float q[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    const uint4 raw = *reinterpret_cast<const uint4*>(
        a.q + (int64_t(row) * a.num_heads + kv_head * G + g) * D + dchunk * 8);
    bf16x8_to_float(raw, q[g]);
#pragma unroll
    for (int j = 0; j < 8; ++j) q[g][j] *= scale_log2;
  }

  float mx[G], sum[G], acc[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    mx[g] = -INFINITY;
    sum[g] = 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[g][j] = 0.f;
  }

  const int n_parts = (ctx - start + Shape::kPartTokens - 1) / Shape::kPartTokens;
  for (int p = split; p < n_parts; p += num_splits) {
    const int tok0 = start + p * Shape::kPartTokens + warp * Shape::kChunkTokens;
    uint4 kr[kUnroll], vr[kUnroll];
    int pos[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      pos[u] = tok0 + u * Shape::kTokensPerLoad + tok_lane;
      if (pos[u] < ctx) {
        const int32_t block = bt[pos[u] / a.kv.block_size];
        const int64_t off = block * a.kv.block_stride +
                            int64_t(pos[u] % a.kv.block_size) * a.kv.token_stride + kv_head * D +
                            dchunk * 8;
        kr[u] = *reinterpret_cast<const uint4*>(a.kv.k + off);
        vr[u] = *reinterpret_cast<const uint4*>(a.kv.v + off);
      } else {
        kr[u] = vr[u] = make_uint4(0, 0, 0, 0);
      }
    }
    float s[kUnroll][G];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float kf[8];
      bf16x8_to_float(kr[u], kf);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float d = 0.f;
#pragma unroll
        for (int j = 0; j < 8; ++j) d += q[g][j] * kf[j];
#pragma unroll
        for (int o = L / 2; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
        s[u][g] = pos[u] < ctx ? d : -INFINITY;
      }
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float cm = s[0][g];
#pragma unroll
      for (int u = 1; u < kUnroll; ++u) cm = fmaxf(cm, s[u][g]);
#pragma unroll
      for (int o = L; o < 32; o <<= 1) cm = fmaxf(cm, __shfl_xor_sync(0xffffffffu, cm, o));
      const float m_new = fmaxf(mx[g], cm);
      // While nothing has been seen m_new is -inf; subtracting 0 then keeps exp2 at exactly 0.
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      const float alpha = exp2f(mx[g] - m_use);
      mx[g] = m_new;
      sum[g] *= alpha;
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[g][j] *= alpha;
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const float pu = exp2f(s[u][g] - m_use);
        sum[g] += pu;
        float vf[8];
        bf16x8_to_float(vr[u], vf);
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[g][j] += pu * vf[j];
      }
    }
  }

  // The running max is warp-uniform, so token lanes combine by plain sums.
#pragma unroll
  for (int g = 0; g < G; ++g) {
#pragma unroll
    for (int o = L; o < 32; o <<= 1) {
      sum[g] += __shfl_xor_sync(0xffffffffu, sum[g], o);
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[g][j] += __shfl_xor_sync(0xffffffffu, acc[g][j], o);
    }
  }
  if (tok_lane == 0) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
#pragma unroll
      for (int j = 0; j < 8; ++j) sm_acc[warp][g][dchunk * 8 + j] = acc[g][j];
      if (dchunk == 0) {
        sm_max[warp][g] = mx[g];
        sm_sum[warp][g] = sum[g];
      }
    }
  }
  __syncthreads();

  for (int i = threadIdx.x; i < G * D; i += kThreads) {
    const int g = i / D, d = i % D;
    float m_all = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) m_all = fmaxf(m_all, sm_max[w][g]);
    float total = 0.f, total_sum = 0.f;
    if (m_all != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float e = exp2f(sm_max[w][g] - m_all);
        total += e * sm_acc[w][g][d];
        total_sum += e * sm_sum[w][g];
      }
    }
    const int head = kv_head * G + g;
    if (num_splits == 1 && !m.partials_only) {
      const float v = total_sum > 0.f ? total / total_sum : 0.f;
      a.out[(int64_t(row) * a.num_heads + head) * D + d] = __float2bfloat16(v);
    } else {
      const int64_t part = (int64_t(seq) * a.num_heads + head) * num_splits + split;
      part_acc[part * D + d] = total;
      if (d == 0) {
        part_ml[2 * part] = m_all;
        part_ml[2 * part + 1] = total_sum;
      }
    }
  }
}

// Merges the splits of one (sequence, head): one thread per dimension.
__global__ void decode_reduce_kernel(const float* __restrict__ part_acc,
                                     const float* __restrict__ part_ml, DecodeAttentionMeta m,
                                     bf16* __restrict__ out, int num_heads, int head_dim,
                                     int num_splits) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int head = blockIdx.x, seq = blockIdx.y, d = threadIdx.x;
  const int64_t part0 = (int64_t(seq) * num_heads + head) * num_splits;
  float m_all = -INFINITY;
  for (int s = 0; s < num_splits; ++s) m_all = fmaxf(m_all, part_ml[2 * (part0 + s)]);
  float total = 0.f, total_sum = 0.f;
  if (m_all != -INFINITY) {
    for (int s = 0; s < num_splits; ++s) {
      const float e = exp2f(part_ml[2 * (part0 + s)] - m_all);
      total += e * part_acc[(part0 + s) * head_dim + d];
      total_sum += e * part_ml[2 * (part0 + s) + 1];
    }
  }
  const float v = total_sum > 0.f ? total / total_sum : 0.f;
  out[(int64_t(m.token_row[seq]) * num_heads + head) * head_dim + d] = __float2bfloat16(v);
}

template <int D, int G>
cudaError_t launch_decode(cudaStream_t stream, const AttentionArgs& a,
                          const DecodeAttentionMeta& m, float* part_acc, float* part_ml) {
  const dim3 grid(m.num_splits, a.kv.num_kv_heads, m.num_seqs);
  return launch_kernel(decode_attention_kernel<D, G>, grid, dim3(kThreads), 0, stream,
                       a.dependent_launch, a, m, part_acc, part_ml);
}

template <int D>
KernelStatus dispatch_group(cudaStream_t stream, const AttentionArgs& a,
                            const DecodeAttentionMeta& m, float* part_acc, float* part_ml) {
  switch (a.num_heads / a.kv.num_kv_heads) {
    case 1:
      return kernel_cuda_status(launch_decode<D, 1>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    case 2:
      return kernel_cuda_status(launch_decode<D, 2>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    case 3:
      return kernel_cuda_status(launch_decode<D, 3>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    case 4:
      return kernel_cuda_status(launch_decode<D, 4>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    case 5:
      return kernel_cuda_status(launch_decode<D, 5>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    case 6:
      return kernel_cuda_status(launch_decode<D, 6>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    case 8:
      return kernel_cuda_status(launch_decode<D, 8>(stream, a, m, part_acc, part_ml),
                                "decode_attention");
    default:
      return kernel_arg_error("decode_attention: ", a.num_heads / a.kv.num_kv_heads,
                              " query heads per kv head is not supported (1-6, 8)");
  }
}

}  // namespace

size_t decode_workspace_bytes(int32_t num_seqs, int32_t num_heads, int32_t head_dim,
                              int32_t num_splits) {
  if (num_splits <= 1) return 0;
  return size_t(num_seqs) * num_heads * num_splits * (head_dim + 2) * sizeof(float);
}

int32_t decode_num_splits(int32_t num_seqs, int32_t num_kv_heads, int32_t num_sms) {
  const int64_t blocks = int64_t(std::max(num_seqs, 1)) * std::max(num_kv_heads, 1);
  const int64_t want = (2 * int64_t(num_sms) + blocks - 1) / blocks;
  return int32_t(std::clamp<int64_t>(want, 1, 32));
}

KernelStatus decode_attention(cudaStream_t stream, const AttentionArgs& args,
                              const DecodeAttentionMeta& meta, void* workspace,
                              size_t workspace_bytes) {
  if (meta.num_seqs <= 0) return kernel_ok();
  if (meta.num_seqs > 65535)
    return kernel_arg_error("decode_attention: ", meta.num_seqs,
                            " sequences exceed the grid limit 65535");
  if (args.kv.num_kv_heads <= 0 || args.num_heads % args.kv.num_kv_heads != 0)
    return kernel_arg_error("decode_attention: ", args.num_heads, " heads are not a multiple of ",
                            args.kv.num_kv_heads, " kv heads");
  const int splits = std::max(meta.num_splits, 1);
  // With partials only the caller merges, so even one split leaves its partial in the workspace.
  const size_t need =
      meta.partials_only
          ? size_t(meta.num_seqs) * args.num_heads * splits * (args.kv.head_dim + 2) * sizeof(float)
          : decode_workspace_bytes(meta.num_seqs, args.num_heads, args.kv.head_dim, splits);
  if (workspace_bytes < need || (need > 0 && workspace == nullptr))
    return kernel_arg_error("decode_attention: workspace of ", workspace_bytes, " bytes, ", need,
                            " needed");
  float* part_acc = static_cast<float*>(workspace);
  float* part_ml =
      part_acc ? part_acc + size_t(meta.num_seqs) * args.num_heads * splits * args.kv.head_dim
               : nullptr;
  DecodeAttentionMeta m = meta;
  m.num_splits = splits;
  const KernelStatus st = [&] {
    switch (args.kv.head_dim) {
      case 16:
        return dispatch_group<16>(stream, args, m, part_acc, part_ml);
      case 32:
        return dispatch_group<32>(stream, args, m, part_acc, part_ml);
      case 64:
        return dispatch_group<64>(stream, args, m, part_acc, part_ml);
      case 128:
        return dispatch_group<128>(stream, args, m, part_acc, part_ml);
      default:
        return kernel_arg_error("decode_attention: head_dim ", args.kv.head_dim,
                                " is not supported (16, 32, 64, 128)");
    }
  }();
  if (!st.ok() || splits == 1 || meta.partials_only) return st;
  const dim3 grid(args.num_heads, m.num_seqs);
  return kernel_cuda_status(
      launch_kernel(decode_reduce_kernel, grid, dim3(args.kv.head_dim), 0, stream,
                    args.dependent_launch, static_cast<const float*>(part_acc),
                    static_cast<const float*>(part_ml), m, args.out, int(args.num_heads),
                    int(args.kv.head_dim), int(splits)),
      "decode_attention reduce");
}

}  // namespace kvtier::kernels::cuda
