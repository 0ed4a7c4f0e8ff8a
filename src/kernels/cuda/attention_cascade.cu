// Shared-prefix (cascade) decode attention: the prefix pass and the merge (attention.h).
//
// Prefix pass: a thread block takes one work item (group, chunk of the shared keys, tile of
// kCascadeRowTile query rows) of one kv head. Row r of a group's rows is member r / G's query
// head kv_head * G + r % G, so one K/V tile read from shared memory feeds every member. 4 warps of
// 16 rows each run m16n8k16 bf16 MMAs with fp32 accumulators and an online softmax in log2 units
// (as the decode kernel), K/V tiles of kCascadeKeyTile keys gathered through the first member's
// block table by cp.async, double-buffered. Thread blocks stride over the work items, whose
// count is data, so the grid is fixed. Each writes its rows' unnormalised output and (max, sum)
// as one prefix partial; the chunks of one item order run side by side, so the K/V chunk the
// row tiles share is read from HBM about once.
//
// Merge: one thread block per (decode sequence, head) combines the decode kernel's suffix
// partials with the group's prefix partials.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/dependent_launch.cuh"
#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/mma.cuh"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kRows = kCascadeRowTile;
constexpr int kKeys = kCascadeKeyTile;
constexpr int kWarps = kRows / 16;
constexpr int kThreads = kWarps * 32;

template <int D>
constexpr size_t prefix_smem_bytes() {
  return size_t(kRows + 4 * kKeys) * D * sizeof(bf16);  // Q, 2 x K, 2 x V
}

// 16-byte chunk c of row r, XOR-swizzled so the 8 rows an ldmatrix reads fall in different bank
// groups (the prefill kernel's layout).
template <int kChunks>
__device__ __forceinline__ int swz(int r, int c) {
  if constexpr (kChunks >= 8) {
    return r * kChunks + (c ^ (r & 7));
  } else {
    return r * kChunks + (c ^ ((r / (8 / kChunks)) & (kChunks - 1)));
  }
}

struct PrefixPartials {
  float* acc = nullptr;  // [part][head][D]
  float* ml = nullptr;   // [part][head][2]
};

template <int D, int G>
__global__ void __launch_bounds__(kThreads, 2)
    cascade_prefix_kernel(AttentionArgs a, DecodeAttentionMeta dm, CascadeAttentionMeta cm,
                          PrefixPartials out) {
  constexpr int kChunks = D / 8;
  extern __shared__ uint4 smem[];
  uint4* sQ = smem;
  uint4* sK = sQ + kRows * kChunks;
  uint4* sV = sK + 2 * kKeys * kChunks;
  allow_next_kernel();
  wait_for_previous_kernel();

  const int kv_head = blockIdx.y;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t4 = lane % 4;
  const int row_base = warp * 16;
  const int num_groups = cm.header[0], total_work = cm.header[1];
  const int64_t q_stride = int64_t(a.num_heads) * D;
  const float scale_log2 = a.scale * 1.4426950408889634f;

  for (int w = blockIdx.x; w < total_work; w += gridDim.x) {
    // The group holding item w: the last group whose first item is at most w.
    int lo = 0, hi = num_groups - 1;
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (cm.work_begin[mid] <= w)
        lo = mid;
      else
        hi = mid - 1;
    }
    const int grp = lo;
    const int m_begin = cm.member_begin[grp];
    const int n_members = cm.member_begin[grp + 1] - m_begin;
    const int n_rows = n_members * G;
    const int n_row_tiles = (n_rows + kRows - 1) / kRows;
    const int local = w - cm.work_begin[grp];
    const int chunk = local / n_row_tiles, row_tile = local % n_row_tiles;
    const int chunk_len = cm.chunk_len[grp];
    const int k_begin = chunk * chunk_len;
    const int k_end = min(k_begin + chunk_len, cm.shared_len[grp]);
    const int n_tiles = k_end > k_begin ? (k_end - k_begin + kKeys - 1) / kKeys : 0;
    const int row0 = row_tile * kRows;
    const int rows_here = min(kRows, n_rows - row0);
    const int32_t* bt = dm.block_ids + dm.block_table_offset[cm.members[m_begin]];

    for (int i = tid; i < kRows * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks;
      const bool valid = r < rows_here;
      const bf16* src = a.q;
      if (valid) {
        const int fr = row0 + r;
        const int seq = cm.members[m_begin + fr / G];
        src = a.q + dm.token_row[seq] * q_stride + (kv_head * G + fr % G) * D + c * 8;
      }
      cp_async_16(smem_addr(sQ + swz<kChunks>(r, c)), src, valid);
    }
    auto load_kv = [&](int t, int buf) {
      uint4* k_dst = sK + buf * kKeys * kChunks;
      uint4* v_dst = sV + buf * kKeys * kChunks;
      for (int i = tid; i < kKeys * kChunks; i += kThreads) {
        const int r = i / kChunks, c = i % kChunks;
        const int key = k_begin + t * kKeys + r;
        const bool valid = key < k_end;
        int64_t off = 0;
        if (valid) {
          const int32_t block = bt[key / a.kv.block_size];
          off = block * a.kv.block_stride + int64_t(key % a.kv.block_size) * a.kv.token_stride +
                kv_head * D + c * 8;
        }
        cp_async_16(smem_addr(k_dst + swz<kChunks>(r, c)), a.kv.k + off, valid);
        cp_async_16(smem_addr(v_dst + swz<kChunks>(r, c)), a.kv.v + off, valid);
      }
    };
    if (n_tiles > 0) load_kv(0, 0);
    cp_async_commit();

    uint32_t qf[D / 16][4];
    float o[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
    const bool warp_active = row_base < rows_here;

    for (int t = 0; t < n_tiles; ++t) {
      if (t + 1 < n_tiles) {
        load_kv(t + 1, (t + 1) & 1);
        cp_async_commit();
        cp_async_wait<1>();
      } else {
        cp_async_wait<0>();
      }
      __syncthreads();
      if (t == 0) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
          const int r = row_base + lane % 16;
          ldmatrix_x4(qf[kk], smem_addr(sQ + swz<kChunks>(r, kk * 2 + lane / 16)));
        }
      }
      if (warp_active) {
        const uint4* k_s = sK + (t & 1) * kKeys * kChunks;
        const uint4* v_s = sV + (t & 1) * kKeys * kChunks;
        float s[kKeys / 8][4];
#pragma unroll
        for (int i = 0; i < kKeys / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
          for (int np = 0; np < kKeys / 16; ++np) {
            const int r = np * 16 + lane % 8 + (lane / 16) * 8;
            const int c = kk * 2 + (lane / 8) % 2;
            uint32_t b[4];
            ldmatrix_x4(b, smem_addr(k_s + swz<kChunks>(r, c)));
            mma_bf16_16816(s[2 * np], qf[kk], b[0], b[1]);
            mma_bf16_16816(s[2 * np + 1], qf[kk], b[2], b[3]);
          }
        }
        // Every shared key precedes every member's position: only the chunk's end is masked.
        const int key0 = k_begin + t * kKeys;
        const bool need_mask = key0 + kKeys > k_end;
#pragma unroll
        for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = key0 + nt * 8 + 2 * t4 + (e & 1);
            s[nt][e] = !need_mask || key < k_end ? s[nt][e] * scale_log2 : -INFINITY;
          }
        }
        // The first tile's first key is unmasked, so row_max is finite from then on.
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float mx = -INFINITY;
#pragma unroll
          for (int nt = 0; nt < kKeys / 8; ++nt)
            mx = fmaxf(mx, fmaxf(s[nt][2 * h], s[nt][2 * h + 1]));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          const float m_new = fmaxf(row_max[h], mx);
          const float alpha = exp2f(row_max[h] - m_new);
          row_max[h] = m_new;
          float sum = 0.f;
#pragma unroll
          for (int nt = 0; nt < kKeys / 8; ++nt) {
            s[nt][2 * h] = exp2f(s[nt][2 * h] - m_new);
            s[nt][2 * h + 1] = exp2f(s[nt][2 * h + 1] - m_new);
            sum += s[nt][2 * h] + s[nt][2 * h + 1];
          }
          row_sum[h] = row_sum[h] * alpha + sum;
#pragma unroll
          for (int i = 0; i < D / 8; ++i) {
            o[i][2 * h] *= alpha;
            o[i][2 * h + 1] *= alpha;
          }
        }
#pragma unroll
        for (int kv = 0; kv < kKeys / 16; ++kv) {
          uint32_t pa[4];
          pa[0] = pack_bf16x2(s[2 * kv][0], s[2 * kv][1]);
          pa[1] = pack_bf16x2(s[2 * kv][2], s[2 * kv][3]);
          pa[2] = pack_bf16x2(s[2 * kv + 1][0], s[2 * kv + 1][1]);
          pa[3] = pack_bf16x2(s[2 * kv + 1][2], s[2 * kv + 1][3]);
#pragma unroll
          for (int dp = 0; dp < D / 16; ++dp) {
            const int r = kv * 16 + lane % 8 + ((lane / 8) % 2) * 8;
            const int c = dp * 2 + lane / 16;
            uint32_t b[4];
            ldmatrix_x4_trans(b, smem_addr(v_s + swz<kChunks>(r, c)));
            mma_bf16_16816(o[2 * dp], pa, b[0], b[1]);
            mma_bf16_16816(o[2 * dp + 1], pa, b[2], b[3]);
          }
        }
      }
      // Everyone is done with buffer t & 1 (and, after the last tile, with Q) before the next
      // load overwrites it.
      __syncthreads();
    }
    if (n_tiles == 0) {
      cp_async_wait<0>();
      __syncthreads();
    }

    const int part0 = cm.part_begin[grp] + chunk * n_members;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float l = row_sum[h];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int r = row_base + g + 8 * h;
      if (r >= rows_here) continue;
      const int fr = row0 + r;
      const int64_t part = int64_t(part0 + fr / G) * a.num_heads + kv_head * G + fr % G;
      float* dst = out.acc + part * D + 2 * t4;
#pragma unroll
      for (int nt = 0; nt < D / 8; ++nt)
        *reinterpret_cast<float2*>(dst + nt * 8) = make_float2(o[nt][2 * h], o[nt][2 * h + 1]);
      if (t4 == 0) *reinterpret_cast<float2*>(out.ml + 2 * part) = make_float2(row_max[h], l);
    }
  }
}

// One thread per dimension of one (decode sequence, head): the suffix splits, then the group's
// prefix chunks. Maxima are in log2 units; an empty partial's (-inf, 0) weighs exactly 0, and a
// sequence with none (padding) gets zeros.
__global__ void cascade_merge_kernel(DecodeAttentionMeta dm, CascadeAttentionMeta cm,
                                     const float* __restrict__ suffix_acc,
                                     const float* __restrict__ suffix_ml, PrefixPartials prefix,
                                     bf16* __restrict__ out, int num_heads, int head_dim,
                                     int num_splits) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int head = blockIdx.x, seq = blockIdx.y, d = threadIdx.x;
  const int64_t s0 = (int64_t(seq) * num_heads + head) * num_splits;
  const int grp = cm.seq_group[seq];
  int64_t p0 = 0, p_stride = 0;
  int n_chunks = 0;
  if (grp >= 0) {
    const int n_members = cm.member_begin[grp + 1] - cm.member_begin[grp];
    const int chunk_len = cm.chunk_len[grp];
    n_chunks = (cm.shared_len[grp] + chunk_len - 1) / chunk_len;
    p0 = (int64_t(cm.part_begin[grp]) + cm.seq_local[seq]) * num_heads + head;
    p_stride = int64_t(n_members) * num_heads;
  }
  float m_all = -INFINITY;
  for (int s = 0; s < num_splits; ++s) m_all = fmaxf(m_all, suffix_ml[2 * (s0 + s)]);
  for (int c = 0; c < n_chunks; ++c) m_all = fmaxf(m_all, prefix.ml[2 * (p0 + c * p_stride)]);
  float total = 0.f, total_sum = 0.f;
  for (int s = 0; s < num_splits; ++s) {
    const float sum = suffix_ml[2 * (s0 + s) + 1];
    if (sum > 0.f) {
      const float e = exp2f(suffix_ml[2 * (s0 + s)] - m_all);
      total += e * suffix_acc[(s0 + s) * head_dim + d];
      total_sum += e * sum;
    }
  }
  for (int c = 0; c < n_chunks; ++c) {
    const int64_t p = p0 + c * p_stride;
    const float sum = prefix.ml[2 * p + 1];
    if (sum > 0.f) {
      const float e = exp2f(prefix.ml[2 * p] - m_all);
      total += e * prefix.acc[p * head_dim + d];
      total_sum += e * sum;
    }
  }
  const float v = total_sum > 0.f ? total / total_sum : 0.f;
  out[(int64_t(dm.token_row[seq]) * num_heads + head) * head_dim + d] = __float2bfloat16(v);
}

template <int D, int G>
KernelStatus launch_prefix(cudaStream_t stream, const AttentionArgs& a,
                           const DecodeAttentionMeta& dm, const CascadeAttentionMeta& cm,
                           PrefixPartials out) {
  constexpr size_t smem = prefix_smem_bytes<D>();
  static const cudaError_t attr_err = cudaFuncSetAttribute(
      cascade_prefix_kernel<D, G>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
  if (attr_err != cudaSuccess)
    return kernel_cuda_status(attr_err, "cascade prefix attention shared memory");
  const dim3 grid(std::max(cm.work_slots, 1), a.kv.num_kv_heads);
  return kernel_cuda_status(launch_kernel(cascade_prefix_kernel<D, G>, grid, dim3(kThreads), smem,
                                          stream, a.dependent_launch, a, dm, cm, out),
                            "cascade prefix attention");
}

template <int D>
KernelStatus dispatch_prefix(cudaStream_t stream, const AttentionArgs& a,
                             const DecodeAttentionMeta& dm, const CascadeAttentionMeta& cm,
                             PrefixPartials out) {
  switch (a.num_heads / a.kv.num_kv_heads) {
    case 1:
      return launch_prefix<D, 1>(stream, a, dm, cm, out);
    case 2:
      return launch_prefix<D, 2>(stream, a, dm, cm, out);
    case 4:
      return launch_prefix<D, 4>(stream, a, dm, cm, out);
    case 5:
      return launch_prefix<D, 5>(stream, a, dm, cm, out);
    case 8:
      return launch_prefix<D, 8>(stream, a, dm, cm, out);
    default:
      return kernel_arg_error("cascade_decode_attention: ", a.num_heads / a.kv.num_kv_heads,
                              " query heads per kv head is not supported (1, 2, 4, 5, 8)");
  }
}

}  // namespace

bool cascade_attention_supported(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim) {
  if (num_kv_heads <= 0 || num_heads % num_kv_heads != 0) return false;
  const int32_t g = num_heads / num_kv_heads;
  return (head_dim == 64 || head_dim == 128) && (g == 1 || g == 2 || g == 4 || g == 5 || g == 8);
}

size_t cascade_prefix_workspace_bytes(int32_t parts, int32_t num_heads, int32_t head_dim) {
  return size_t(std::max(parts, 0)) * std::max(num_heads, 0) * (head_dim + 2) * sizeof(float);
}

KernelStatus cascade_decode_attention(cudaStream_t stream, const AttentionArgs& args,
                                      const DecodeAttentionMeta& decode_meta,
                                      const CascadeAttentionMeta& cascade_meta,
                                      void* decode_workspace, size_t decode_workspace_bytes,
                                      void* prefix_workspace, size_t prefix_workspace_bytes) {
  if (decode_meta.num_seqs <= 0) return kernel_ok();
  if (decode_meta.num_seqs > 65535)
    return kernel_arg_error("cascade_decode_attention: ", decode_meta.num_seqs,
                            " sequences exceed the grid limit 65535");
  if (args.kv.num_kv_heads <= 0 || args.num_heads % args.kv.num_kv_heads != 0)
    return kernel_arg_error("cascade_decode_attention: ", args.num_heads,
                            " heads are not a multiple of ", args.kv.num_kv_heads, " kv heads");
  const int D = args.kv.head_dim;
  if (!cascade_attention_supported(args.num_heads, args.kv.num_kv_heads, D))
    return kernel_arg_error("cascade_decode_attention: ", args.num_heads, " heads over ",
                            args.kv.num_kv_heads, " kv heads of head_dim ", D,
                            " are not supported (head_dim 64 or 128; 1, 2, 4, 5 or 8 query heads "
                            "per kv head)");
  if (cascade_meta.work_slots < 1 || cascade_meta.work_slots > 65535)
    return kernel_arg_error("cascade_decode_attention: ", cascade_meta.work_slots,
                            " work slots (1-65535)");
  const size_t prefix_need =
      cascade_prefix_workspace_bytes(cascade_meta.max_parts, args.num_heads, D);
  if (cascade_meta.max_parts <= 0 || prefix_workspace == nullptr ||
      prefix_workspace_bytes < prefix_need)
    return kernel_arg_error("cascade_decode_attention: prefix workspace of ",
                            prefix_workspace_bytes, " bytes, ", prefix_need, " needed for ",
                            cascade_meta.max_parts, " partial rows");
  PrefixPartials prefix;
  prefix.acc = static_cast<float*>(prefix_workspace);
  prefix.ml = prefix.acc + size_t(cascade_meta.max_parts) * args.num_heads * D;

  const KernelStatus prefix_st = [&] {
    if (D == 64) return dispatch_prefix<64>(stream, args, decode_meta, cascade_meta, prefix);
    return dispatch_prefix<128>(stream, args, decode_meta, cascade_meta, prefix);
  }();
  if (!prefix_st.ok()) return prefix_st;

  DecodeAttentionMeta suffix = decode_meta;
  suffix.num_splits = std::max(decode_meta.num_splits, 1);
  suffix.start_pos = cascade_meta.seq_start;
  suffix.partials_only = true;
  const KernelStatus suffix_st =
      decode_attention(stream, args, suffix, decode_workspace, decode_workspace_bytes);
  if (!suffix_st.ok()) return suffix_st;

  const float* suffix_acc = static_cast<const float*>(decode_workspace);
  const float* suffix_ml =
      suffix_acc + size_t(suffix.num_seqs) * args.num_heads * suffix.num_splits * D;
  const dim3 grid(args.num_heads, suffix.num_seqs);
  return kernel_cuda_status(
      launch_kernel(cascade_merge_kernel, grid, dim3(D), 0, stream, args.dependent_launch,
                    decode_meta, cascade_meta, suffix_acc, suffix_ml, prefix, args.out,
                    int(args.num_heads), int(D), int(suffix.num_splits)),
      "cascade merge");
}

}  // namespace kvtier::kernels::cuda
