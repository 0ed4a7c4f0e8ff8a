#pragma once
// The exact k heaviest elements of a row for small k, in one pass over the row: each warp keeps
// its own candidates in shared memory, admitting only elements that beat its current k-th best
// (so after the first few hundred elements almost nothing is admitted), and compacts them to its
// k best when its buffer fills; one warp then merges the 32 sorted lists. The order is the host
// sampler's (weight desc, id asc), encoded as one 64-bit rank key, so the result is exact and
// does not depend on the order the warps run in.
#include <cstdint>

#include "kernels/cuda/sampling.h"
#include "kernels/cuda/sampling_select.cuh"

namespace kvtier::kernels::cuda::sampling {

using cuda::kMaxSmallTopK;
// Room for a warp's k best plus its next 32 admissions, so one compaction always makes room.
constexpr int kWarpCandidates = 128;
static_assert(kWarpCandidates >= kMaxSmallTopK + 32 && kWarpCandidates % 32 == 0);
static_assert(kMaxSmallTopK <= 2 * 32, "the draw over the candidates holds two per lane");
// Elements each lane loads before it looks at any of them (loads in flight per warp).
constexpr int kTopKUnroll = 8;

// Shared memory of block_top_k: per-warp candidate lists, then the merged result. The block's
// threads write only their own warp's list until the merge, which warp 0 does alone.
struct TopKScratch {
  unsigned long long cand[kWarps][kWarpCandidates];
  unsigned long long top[kMaxSmallTopK];
  int count[kWarps];
  int top_count;
  int drawn;
};

// (weight desc, id asc) as one integer: a larger key ranks first; distinct ids, distinct keys.
// Weights are positive floats, whose bits order as their values.
__device__ __forceinline__ unsigned long long rank_key(float w, int32_t i) {
  return (static_cast<unsigned long long>(__float_as_uint(w)) << 32) | ~static_cast<uint32_t>(i);
}
__device__ __forceinline__ uint32_t rank_weight_bits(unsigned long long k) {
  return static_cast<uint32_t>(k >> 32);
}
__device__ __forceinline__ int32_t rank_id(unsigned long long k) {
  return static_cast<int32_t>(~static_cast<uint32_t>(k));
}

// Called by a whole warp: keeps the k best of buf[0, count) in buf[0, min(count, k)), best
// first, and returns that count. Ranks are exact since keys are distinct.
__device__ __forceinline__ int warp_keep_best(unsigned long long* buf, int count, int k) {
  constexpr int kPer = kWarpCandidates / 32;
  const int lane = threadIdx.x % 32;
  unsigned long long mine[kPer];
  int rank[kPer];
#pragma unroll
  for (int t = 0; t < kPer; ++t) {
    mine[t] = lane + 32 * t < count ? buf[lane + 32 * t] : 0ull;
    rank[t] = 0;
  }
  for (int j = 0; j < count; ++j) {
    const unsigned long long e = buf[j];
#pragma unroll
    for (int t = 0; t < kPer; ++t) rank[t] += e > mine[t] ? 1 : 0;
  }
  __syncwarp();  // every lane has read the buffer before any slot is rewritten
#pragma unroll
  for (int t = 0; t < kPer; ++t)
    if (lane + 32 * t < count && rank[t] < k) buf[rank[t]] = mine[t];
  __syncwarp();
  return count < k ? count : k;
}

// Fills t.top[0, m) with the k (<= kMaxSmallTopK) best elements of [0, n) by (weight desc,
// id asc) among those with weight(i) > 0, best first, and returns m = min(k, how many have a
// positive weight) to every thread of the block.
template <typename Weight>
__device__ int block_top_k(int32_t n, int k, Weight weight, TopKScratch& t) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  unsigned long long* buf = t.cand[warp];
  int count = 0;                   // warp-uniform
  unsigned long long bar = 0;  // admit only keys above the warp's k-th best so far
  constexpr int32_t kChunk = 32 * kTopKUnroll;
  for (int32_t base = warp * kChunk; base < n; base += kWarps * kChunk) {
    float w[kTopKUnroll];
#pragma unroll
    for (int u = 0; u < kTopKUnroll; ++u) {
      const int32_t i = base + 32 * u + lane;
      w[u] = i < n ? weight(i) : 0.f;
    }
#pragma unroll
    for (int u = 0; u < kTopKUnroll; ++u) {
      const int32_t i = base + 32 * u + lane;
      const unsigned long long key = w[u] > 0.f ? rank_key(w[u], i) : 0ull;
      unsigned admit = __ballot_sync(0xffffffffu, key > bar);
      if (admit == 0) continue;
      if (count + __popc(admit) > kWarpCandidates) {
        count = warp_keep_best(buf, count, k);
        if (count == k) bar = buf[k - 1];
        admit = __ballot_sync(0xffffffffu, key > bar);
      }
      if (key > bar) buf[count + __popc(admit & ((1u << lane) - 1u))] = key;
      count += __popc(admit);
      __syncwarp();
    }
  }
  count = warp_keep_best(buf, count, k);
  if (lane == 0) t.count[warp] = count;
  __syncthreads();
  if (warp == 0) {
    // Lane l holds the head of warp l's sorted list; the best head is the next of the merge.
    const int len = t.count[lane];
    int pos = 0, m = 0;
    for (; m < k; ++m) {
      const unsigned long long head = pos < len ? t.cand[lane][pos] : 0ull;
      unsigned long long best = head;
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, o);
        best = other > best ? other : best;
      }
      if (best == 0ull) break;
      if (head == best) ++pos;
      if (lane == 0) t.top[m] = best;
    }
    if (lane == 0) t.top_count = m;
  }
  __syncthreads();
  return t.top_count;
}

}  // namespace kvtier::kernels::cuda::sampling
