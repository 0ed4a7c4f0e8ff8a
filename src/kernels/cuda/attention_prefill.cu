// Prefill attention: flash-attention style (online softmax, one pass over the keys) on tensor
// cores. A thread block computes kPrefillTileRows query rows of one head; each warp owns 16 * kMT
// of them. Key/value tiles of 64 positions are gathered from the paged pool with cp.async into
// swizzled shared memory, double-buffered so the next tile loads while this one is computed (or
// with 3-4 buffers, several tiles ahead).
//
// A short chunk over a long cached context has too few (tile, head) pairs to fill the device, so
// the keys can also be split over gridDim.z thread blocks (flash-decoding): each writes its rows'
// unnormalised output and (max, sum) in fp32 to the workspace and a second kernel merges them.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/mma.cuh"

namespace kvtier::kernels::cuda {
namespace {

constexpr int kBM = kPrefillTileRows;

// kMT row tiles of 16 per warp, key tiles of kBN. With one row tile the warp's Q fragments stay
// in registers; with two, every K and V fragment read from shared memory feeds twice the MMAs
// (shared-memory bandwidth is what bounds the one-tile shape) and Q fragments are re-read from
// shared memory instead.
template <int kMT>
struct PrefillShape {
  static constexpr int kWarps = kBM / (16 * kMT);
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kBlocksPerSm = kMT == 1 ? 1 : 2;
};

// Q, then kStages buffers of K, then kStages of V.
template <int D, int kBN, int kStages>
constexpr size_t prefill_smem_bytes() {
  return size_t(kBM + 2 * kStages * kBN) * D * sizeof(bf16);
}

// Shared-memory index (in 16-byte chunks) of chunk c of row r, XOR-swizzled so that the eight
// rows an ldmatrix reads at one column fall in eight different 16-byte bank groups. Rows shorter
// than 128 bytes share a line with their neighbours, so the swizzle then uses r / (8 / kChunks).
template <int kChunks>
__device__ __forceinline__ int swz(int r, int c) {
  if constexpr (kChunks >= 8) {
    return r * kChunks + (c ^ (r & 7));
  } else {
    return r * kChunks + (c ^ ((r / (8 / kChunks)) & (kChunks - 1)));
  }
}

// kStages K/V buffers: with 2, tile t + 1 loads while tile t is computed and every tile ends with
// a barrier; with more, tiles t + 1 .. t + kStages - 1 are in flight (a 32-key tile's math is
// shorter than a load's latency) and the one barrier at the top of each tile also frees the
// buffer the next load overwrites (the one tile t - 1 used).
template <int D, int kMT, int kBN, int kStages>
__global__ void __launch_bounds__(PrefillShape<kMT>::kThreads, PrefillShape<kMT>::kBlocksPerSm)
    prefill_attention_kernel(AttentionArgs a, PrefillAttentionMeta m, float* part_acc,
                             float* part_ml) {
  static_assert(kStages >= 2);
  using Shape = PrefillShape<kMT>;
  constexpr int kThreads = Shape::kThreads;
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
  constexpr bool kQInRegs = kMT == 1;
  extern __shared__ uint4 smem[];
  uint4* sQ = smem;
  uint4* sK = sQ + kBM * kChunks;
  uint4* sV = sK + kStages * kBN * kChunks;

  const int head = blockIdx.x;
  const int2 tile = m.tiles[blockIdx.y];
  const int seq = tile.x, q_row0 = tile.y;
  const int group = a.num_heads / a.kv.num_kv_heads;
  const int kv_head = head / group;
  const int q_len = m.q_len[seq];
  const int ctx = m.context_len[seq];
  const int q_off = m.q_offset[seq];
  const int start_pos = ctx - q_len;
  const int32_t* bt = m.block_ids + m.block_table_offset[seq];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int rows_here = min(kBM, q_len - q_row0);
  const int kv_end = start_pos + q_row0 + rows_here;  // keys this tile needs: [0, kv_end)
  const int n_tiles = (kv_end + kBN - 1) / kBN;
  const int64_t q_stride = int64_t(a.num_heads) * D;
  // This block's key tiles [t_begin, t_end). Splits start only at tiles whose first key every
  // row of the block sees (keys up to the first row's position), so each non-empty split's
  // first tile gives every row a finite running max; the split holding the last of those tiles
  // also takes the causal tail. Splits past them are empty and report (max -inf, sum 0).
  const int split = blockIdx.z, num_splits = gridDim.z;
  int t_begin = 0, t_end = n_tiles;
  if (num_splits > 1) {
    const int n_start = (start_pos + q_row0) / kBN + 1;
    const int per = (n_start + num_splits - 1) / num_splits;
    t_begin = min(split * per, n_start);
    t_end = min(t_begin + per, n_start);
    if (t_end == n_start && t_begin < n_start) t_end = n_tiles;
  }
  const int my_tiles = t_end - t_begin;

  for (int i = tid; i < kBM * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const bool valid = r < rows_here;
    const bf16* src = a.q + (q_off + q_row0 + (valid ? r : 0)) * q_stride + head * D + c * 8;
    cp_async_16(smem_addr(sQ + swz<kChunks>(r, c)), src, valid);
  }
  auto load_kv = [&](int t, int buf) {
    uint4* k_dst = sK + buf * kBN * kChunks;
    uint4* v_dst = sV + buf * kBN * kChunks;
    for (int i = tid; i < kBN * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks;
      const int key = t * kBN + r;
      const bool valid = key < kv_end;
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
  // Tile indices below count from t_begin; load_kv takes the absolute one.
  if (my_tiles > 0) load_kv(t_begin, 0);
  cp_async_commit();
  if constexpr (kStages > 2) {
    // Group s holds tile s (group 0 also Q); empty groups past the last tile keep the count
    // uniform for cp_async_wait below.
#pragma unroll
    for (int st = 1; st < kStages - 1; ++st) {
      if (st < my_tiles) load_kv(t_begin + st, st);
      cp_async_commit();
    }
  }

  const int g = lane / 4, t4 = lane % 4;
  const int row_base = warp * 16 * kMT;
  const int warp_pos0 = start_pos + q_row0 + row_base;  // position of the warp's first row
  const int warp_pos_last = warp_pos0 + 16 * kMT - 1;
  const float scale_log2 = a.scale * 1.4426950408889634f;

  uint32_t qf[kQInRegs ? D / 16 : 1][4];
  float o[kMT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int i = 0; i < D / 8; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
  float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
    row_max[mt][0] = row_max[mt][1] = -INFINITY;
    row_sum[mt][0] = row_sum[mt][1] = 0.f;
  }

  for (int t = 0; t < my_tiles; ++t) {
    if constexpr (kStages == 2) {
      if (t + 1 < my_tiles) {
        load_kv(t_begin + t + 1, (t + 1) & 1);
        cp_async_commit();
        cp_async_wait<1>();
      } else {
        cp_async_wait<0>();
      }
      __syncthreads();
    } else {
      // kStages - 1 + t groups committed; tile t's is complete when at most kStages - 2 remain.
      cp_async_wait<kStages - 2>();
      __syncthreads();
      const int ahead = t + kStages - 1;
      if (ahead < my_tiles) load_kv(t_begin + ahead, ahead % kStages);
      cp_async_commit();
    }
    const int buf = t % kStages;
    if constexpr (kQInRegs) {
      if (t == 0) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
          const int r = row_base + lane % 16;
          ldmatrix_x4(qf[kk], smem_addr(sQ + swz<kChunks>(r, kk * 2 + lane / 16)));
        }
      }
    }
    const int key0 = (t_begin + t) * kBN;
    // Tiles wholly after this warp's last row are masked out for it, and a warp whose rows are
    // all past the chunk's end (a short chunk) writes nothing: skip the math.
    if (key0 <= warp_pos_last && row_base < rows_here) {
      const uint4* k_s = sK + buf * kBN * kChunks;
      const uint4* v_s = sV + buf * kBN * kChunks;
      float s[kMT][kBN / 8][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int i = 0; i < kBN / 8; ++i)
          s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t qa[kMT][4];
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          if constexpr (kQInRegs) {
#pragma unroll
            for (int j = 0; j < 4; ++j) qa[mt][j] = qf[kk][j];
          } else {
            const int r = row_base + mt * 16 + lane % 16;
            ldmatrix_x4(qa[mt], smem_addr(sQ + swz<kChunks>(r, kk * 2 + lane / 16)));
          }
        }
#pragma unroll
        for (int np = 0; np < kBN / 16; ++np) {
          const int r = np * 16 + lane % 8 + (lane / 16) * 8;
          const int c = kk * 2 + (lane / 8) % 2;
          uint32_t b[4];
          ldmatrix_x4(b, smem_addr(k_s + swz<kChunks>(r, c)));
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
            mma_bf16_16816(s[mt][2 * np], qa[mt], b[0], b[1]);
            mma_bf16_16816(s[mt][2 * np + 1], qa[mt], b[2], b[3]);
          }
        }
      }
      const bool need_mask = key0 + kBN - 1 > warp_pos0 || key0 + kBN > kv_end;
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
        for (int nt = 0; nt < kBN / 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = key0 + nt * 8 + 2 * t4 + (e & 1);
            const int pos = warp_pos0 + mt * 16 + g + (e < 2 ? 0 : 8);
            const bool ok = !need_mask || (key <= pos && key < kv_end);
            s[mt][nt][e] = ok ? s[mt][nt][e] * scale_log2 : -INFINITY;
          }
        }
      }
      // Online softmax: the block's first tile holds a key every row sees (key 0 without
      // splits), so row_max is finite from then on and exp2 of a masked score is exactly 0.
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          float mx = -INFINITY;
#pragma unroll
          for (int nt = 0; nt < kBN / 8; ++nt)
            mx = fmaxf(mx, fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          const float m_new = fmaxf(row_max[mt][h], mx);
          const float alpha = exp2f(row_max[mt][h] - m_new);
          row_max[mt][h] = m_new;
          float sum = 0.f;
#pragma unroll
          for (int nt = 0; nt < kBN / 8; ++nt) {
            s[mt][nt][2 * h] = exp2f(s[mt][nt][2 * h] - m_new);
            s[mt][nt][2 * h + 1] = exp2f(s[mt][nt][2 * h + 1] - m_new);
            sum += s[mt][nt][2 * h] + s[mt][nt][2 * h + 1];
          }
          row_sum[mt][h] = row_sum[mt][h] * alpha + sum;
#pragma unroll
          for (int i = 0; i < D / 8; ++i) {
            o[mt][i][2 * h] *= alpha;
            o[mt][i][2 * h + 1] *= alpha;
          }
        }
      }
#pragma unroll
      for (int kv = 0; kv < kBN / 16; ++kv) {
        uint32_t pa[kMT][4];
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          pa[mt][0] = pack_bf16x2(s[mt][2 * kv][0], s[mt][2 * kv][1]);
          pa[mt][1] = pack_bf16x2(s[mt][2 * kv][2], s[mt][2 * kv][3]);
          pa[mt][2] = pack_bf16x2(s[mt][2 * kv + 1][0], s[mt][2 * kv + 1][1]);
          pa[mt][3] = pack_bf16x2(s[mt][2 * kv + 1][2], s[mt][2 * kv + 1][3]);
        }
#pragma unroll
        for (int dp = 0; dp < D / 16; ++dp) {
          const int r = kv * 16 + lane % 8 + ((lane / 8) % 2) * 8;
          const int c = dp * 2 + lane / 16;
          uint32_t b[4];
          ldmatrix_x4_trans(b, smem_addr(v_s + swz<kChunks>(r, c)));
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
            mma_bf16_16816(o[mt][2 * dp], pa[mt], b[0], b[1]);
            mma_bf16_16816(o[mt][2 * dp + 1], pa[mt], b[2], b[3]);
          }
        }
      }
    }
    // With two buffers, everyone is done with buffer t & 1 before the next tile refills it.
    if constexpr (kStages == 2) __syncthreads();
  }
  // An empty split committed Q's copy without waiting for it.
  if (my_tiles == 0) cp_async_wait<0>();

#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float l = row_sum[mt][h];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int r = row_base + mt * 16 + g + 8 * h;
      if (num_splits > 1) {
        if (r < rows_here) {
          // Partial row (split, tile, head, r): see prefill_reduce_kernel.
          const int64_t part =
              ((int64_t(split) * gridDim.y + blockIdx.y) * a.num_heads + head) * kBM + r;
          float* dst = part_acc + part * D + 2 * t4;
#pragma unroll
          for (int nt = 0; nt < D / 8; ++nt)
            *reinterpret_cast<float2*>(dst + nt * 8) =
                make_float2(o[mt][nt][2 * h], o[mt][nt][2 * h + 1]);
          if (t4 == 0) *reinterpret_cast<float2*>(part_ml + 2 * part) = make_float2(row_max[mt][h], l);
        }
        continue;
      }
      const float inv = 1.f / l;
      if (r < rows_here) {
        bf16* dst = a.out + (q_off + q_row0 + r) * q_stride + head * D + 2 * t4;
#pragma unroll
        for (int nt = 0; nt < D / 8; ++nt) {
          *reinterpret_cast<__nv_bfloat162*>(dst + nt * 8) =
              __floats2bfloat162_rn(o[mt][nt][2 * h] * inv, o[mt][nt][2 * h + 1] * inv);
        }
      }
    }
  }
}

// Merges the splits of each (tile, head) row: one thread per output element. Maxima are in the
// kernel's log2 units; an empty split's (-inf, 0) weighs exactly 0.
__global__ void prefill_reduce_kernel(AttentionArgs a, PrefillAttentionMeta m,
                                      const float* __restrict__ part_acc,
                                      const float* __restrict__ part_ml, int num_splits) {
  const int head = blockIdx.x, tile_index = blockIdx.y, D = a.kv.head_dim;
  const int2 tile = m.tiles[tile_index];
  const int seq = tile.x, q_row0 = tile.y;
  const int rows_here = min(kBM, m.q_len[seq] - q_row0);
  const int64_t first = (int64_t(tile_index) * a.num_heads + head) * kBM;
  const int64_t split_stride = int64_t(gridDim.y) * a.num_heads * kBM;
  const int64_t q_stride = int64_t(a.num_heads) * D;
  bf16* out = a.out + (m.q_offset[seq] + q_row0) * q_stride + head * D;
  for (int i = threadIdx.x; i < rows_here * D; i += blockDim.x) {
    const int r = i / D, d = i % D;
    float m_all = -INFINITY;
    for (int s = 0; s < num_splits; ++s)
      m_all = fmaxf(m_all, part_ml[2 * (s * split_stride + first + r)]);
    float total = 0.f, total_sum = 0.f;
    for (int s = 0; s < num_splits; ++s) {
      const int64_t part = s * split_stride + first + r;
      const float sum = part_ml[2 * part + 1];
      if (sum > 0.f) {
        const float e = exp2f(part_ml[2 * part] - m_all);
        total += e * part_acc[part * D + d];
        total_sum += e * sum;
      }
    }
    out[r * q_stride + d] = __float2bfloat16(total / total_sum);
  }
}

template <int D, int kMT, int kBN, int kStages = 2>
KernelStatus launch(cudaStream_t stream, const AttentionArgs& args, const PrefillAttentionMeta& meta,
                    int num_splits, float* part_acc, float* part_ml) {
  constexpr size_t smem = prefill_smem_bytes<D, kBN, kStages>();
  static const cudaError_t attr_err =
      cudaFuncSetAttribute(prefill_attention_kernel<D, kMT, kBN, kStages>,
                           cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
  if (attr_err != cudaSuccess)
    return kernel_cuda_status(attr_err, "prefill_attention shared memory");
  dim3 grid(args.num_heads, meta.num_tiles, num_splits);
  prefill_attention_kernel<D, kMT, kBN, kStages>
      <<<grid, PrefillShape<kMT>::kThreads, smem, stream>>>(args, meta, part_acc, part_ml);
  KernelStatus st = kernel_launch_status("prefill_attention");
  if (!st.ok() || num_splits == 1) return st;
  prefill_reduce_kernel<<<dim3(args.num_heads, meta.num_tiles), 128, 0, stream>>>(
      args, meta, part_acc, part_ml, num_splits);
  return kernel_launch_status("prefill_attention reduce");
}

template <int D>
KernelStatus launch_variant(cudaStream_t stream, const AttentionArgs& args,
                            const PrefillAttentionMeta& meta, PrefillKernel kernel, int splits,
                            float* part_acc, float* part_ml) {
  switch (kernel) {
    case PrefillKernel::kRows32Keys64:
      return launch<D, 2, 64>(stream, args, meta, splits, part_acc, part_ml);
    case PrefillKernel::kRows32Keys32:
      return launch<D, 2, 32>(stream, args, meta, splits, part_acc, part_ml);
    case PrefillKernel::kRows32Keys32Stages3:
      return launch<D, 2, 32, 3>(stream, args, meta, splits, part_acc, part_ml);
    case PrefillKernel::kRows32Keys32Stages4:
      return launch<D, 2, 32, 4>(stream, args, meta, splits, part_acc, part_ml);
    case PrefillKernel::kRows16Keys64:
      break;
  }
  return launch<D, 1, 64>(stream, args, meta, splits, part_acc, part_ml);
}

}  // namespace

const char* prefill_kernel_name(PrefillKernel k) {
  switch (k) {
    case PrefillKernel::kRows16Keys64:
      return "rows16_keys64";
    case PrefillKernel::kRows32Keys64:
      return "rows32_keys64";
    case PrefillKernel::kRows32Keys32:
      return "rows32_keys32";
    case PrefillKernel::kRows32Keys32Stages3:
      return "rows32_keys32_3stage";
    case PrefillKernel::kRows32Keys32Stages4:
      return "rows32_keys32_4stage";
  }
  return "?";
}

size_t prefill_workspace_bytes(int32_t num_tiles, int32_t num_heads, int32_t head_dim,
                               int32_t num_splits) {
  if (num_splits <= 1) return 0;
  return size_t(num_splits) * num_tiles * num_heads * kBM * (head_dim + 2) * sizeof(float);
}

// Splits are asked for only while num_tiles * num_heads < num_sms, so the grid stays below
// 2 * num_sms + num_tiles * num_heads < 3 * num_sms thread blocks.
size_t prefill_max_workspace_bytes(int32_t num_sms, int32_t head_dim) {
  return size_t(3) * std::max(num_sms, 1) * kBM * (head_dim + 2) * sizeof(float);
}

int32_t prefill_num_splits(int32_t num_tiles, int32_t num_heads, int32_t max_context,
                           int32_t num_sms) {
  const int64_t blocks = int64_t(std::max(num_tiles, 1)) * std::max(num_heads, 1);
  if (blocks >= num_sms) return 1;
  const int64_t want = (2 * int64_t(num_sms) + blocks - 1) / blocks;  // about one full wave
  const int64_t by_keys = max_context / kPrefillMinSplitKeys;
  return int32_t(std::clamp<int64_t>(std::min(want, by_keys), 1, kPrefillMaxSplits));
}

KernelStatus prefill_attention(cudaStream_t stream, const AttentionArgs& args,
                               const PrefillAttentionMeta& meta, PrefillKernel kernel,
                               void* workspace, size_t workspace_bytes) {
  if (meta.num_tiles <= 0) return kernel_ok();
  if (meta.num_tiles > 65535)
    return kernel_arg_error("prefill_attention: ", meta.num_tiles,
                            " query tiles exceed the grid limit 65535");
  if (args.kv.num_kv_heads <= 0 || args.num_heads % args.kv.num_kv_heads != 0)
    return kernel_arg_error("prefill_attention: ", args.num_heads, " heads are not a multiple of ",
                            args.kv.num_kv_heads, " kv heads");
  const int splits = std::max(meta.num_splits, 1);
  if (splits > kPrefillMaxSplits)
    return kernel_arg_error("prefill_attention: ", splits, " splits exceed the limit ",
                            kPrefillMaxSplits);
  const size_t need =
      prefill_workspace_bytes(meta.num_tiles, args.num_heads, args.kv.head_dim, splits);
  if (workspace_bytes < need || (need > 0 && workspace == nullptr))
    return kernel_arg_error("prefill_attention: workspace of ", workspace_bytes, " bytes, ", need,
                            " needed for ", splits, " splits");
  float* part_acc = static_cast<float*>(workspace);
  float* part_ml = need > 0 ? part_acc + size_t(splits) * meta.num_tiles * args.num_heads * kBM *
                                             args.kv.head_dim
                            : nullptr;
  switch (args.kv.head_dim) {
    case 16:
      return launch_variant<16>(stream, args, meta, kernel, splits, part_acc, part_ml);
    case 32:
      return launch_variant<32>(stream, args, meta, kernel, splits, part_acc, part_ml);
    case 64:
      return launch_variant<64>(stream, args, meta, kernel, splits, part_acc, part_ml);
    case 128:
      return launch_variant<128>(stream, args, meta, kernel, splits, part_acc, part_ml);
    default:
      return kernel_arg_error("prefill_attention: head_dim ", args.kv.head_dim,
                              " is not supported (16, 32, 64, 128)");
  }
}

}  // namespace kvtier::kernels::cuda
