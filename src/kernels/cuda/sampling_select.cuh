#pragma once
// Block-wide building blocks of the sampling kernels, for blocks of kSampleThreads threads that
// each own one row: reductions, a radix select over 32-bit keys weighted by integer masses, and
// the search for where a running sum in index order crosses a target. Masses are integers so
// that sums do not depend on the order atomics land in (results are reproducible).
#include <cstdint>

namespace kvtier::kernels::cuda::sampling {

constexpr int kSampleThreads = 1024;
constexpr int kWarps = kSampleThreads / 32;

// Scratch the primitives share; one per block, in shared memory.
struct BlockScratch {
  unsigned long long hist[256];
  unsigned long long warp_u64[kWarps];
  float warp_f[kWarps];
  int warp_i[kWarps];
  unsigned long long bcast_u64[2];
  uint32_t bcast_u32[2];
};

__device__ __forceinline__ unsigned long long warp_sum_u64(unsigned long long v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the block; every thread gets it. Integer addition, so the order does not matter.
__device__ __forceinline__ unsigned long long block_sum_u64(unsigned long long v, BlockScratch& s) {
  v = warp_sum_u64(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // a previous call may still read warp_u64
  if (lane == 0) s.warp_u64[warp] = v;
  __syncthreads();
  unsigned long long total = 0;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) total += s.warp_u64[i];
  return total;
}

// Sum over the block in a fixed order (the same bits on every run).
__device__ __forceinline__ float block_sum_f(float v, BlockScratch& s) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) s.warp_f[warp] = v;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) total += s.warp_f[i];
  return total;
}

__device__ __forceinline__ void keep_better(float& v, int& i, float ov, int oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

// The block's largest value and its lowest index; every thread gets both.
__device__ __forceinline__ void block_argmax(float& v, int& i, BlockScratch& s) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    keep_better(v, i, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, i, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) {
    s.warp_f[warp] = v;
    s.warp_i[warp] = i;
  }
  __syncthreads();
  v = s.warp_f[0];
  i = s.warp_i[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) keep_better(v, i, s.warp_f[w], s.warp_i[w]);
}

// Where a radix select stopped: the key at which the descending running mass reaches the
// target, the mass strictly above it, and the mass and count of elements equal to it.
struct SelectResult {
  uint32_t key;
  unsigned long long mass_above;
  unsigned long long mass_equal;
};

// Among elements with in(i), ordered by key descending, finds the key K with
// mass(key > K) < target <= mass(key >= K). `elem(i, key, mass)` returns whether element i takes
// part and sets its key and mass. target must be in [1, total mass]. Four passes over the row.
template <typename Elem>
__device__ SelectResult radix_select(int32_t n, unsigned long long target, Elem elem,
                                     BlockScratch& s) {
  uint32_t prefix = 0, mask = 0;
  unsigned long long above = 0, equal = 0;
  const int lane = threadIdx.x % 32;
  for (int shift = 24; shift >= 0; shift -= 8) {
    __syncthreads();  // the previous pass's readers are done with hist and bcast
    for (int b = threadIdx.x; b < 256; b += kSampleThreads) s.hist[b] = 0;
    __syncthreads();
    for (int32_t i = threadIdx.x; i < n; i += kSampleThreads) {
      uint32_t key;
      unsigned long long mass;
      if (elem(i, key, mass) && (key & mask) == prefix && mass != 0)
        atomicAdd(&s.hist[(key >> shift) & 255u], mass);
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      // Lane l owns bins 255-8l down to 248-8l; a scan over lanes gives the mass above each.
      unsigned long long mine = 0;
#pragma unroll
      for (int j = 0; j < 8; ++j) mine += s.hist[255 - 8 * lane - j];
      unsigned long long incl = mine;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long t = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += t;
      }
      const unsigned long long excl = incl - mine;
      const unsigned hit = __ballot_sync(0xffffffffu, above + incl >= target);
      const int first = hit ? __ffs(hit) - 1 : 31;
      if (lane == first) {
        unsigned long long acc = above + excl;
        int bin = 255 - 8 * lane - 7;
        for (int j = 0; j < 8; ++j) {
          const int b = 255 - 8 * lane - j;
          if (acc + s.hist[b] >= target || j == 7) {
            bin = b;
            break;
          }
          acc += s.hist[b];
        }
        s.bcast_u32[0] = uint32_t(bin);
        s.bcast_u64[0] = acc;
        s.bcast_u64[1] = s.hist[bin];
      }
    }
    __syncthreads();
    prefix |= s.bcast_u32[0] << shift;
    mask |= 255u << shift;
    above = s.bcast_u64[0];
    equal = s.bcast_u64[1];
  }
  return {prefix, above, equal};
}

// The smallest index i with sum_{j <= i} f(j) > target (n when there is none). Each warp owns
// one contiguous segment: one pass for the segment sums, then one warp walks one segment.
template <typename F>
__device__ int32_t find_crossing(int32_t n, unsigned long long target, F f, BlockScratch& s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int32_t seg = (n + kWarps - 1) / kWarps;
  const int32_t begin = min(n, warp * seg), end = min(n, begin + seg);
  unsigned long long mine = 0;
  for (int32_t i = begin + lane; i < end; i += 32) mine += f(i);
  mine = warp_sum_u64(mine);
  __syncthreads();
  if (lane == 0) s.warp_u64[warp] = mine;
  if (threadIdx.x == 0) s.bcast_u32[1] = uint32_t(n);
  __syncthreads();
  unsigned long long base = 0;
  int chosen = -1;
  for (int w = 0; w < kWarps; ++w) {
    if (base + s.warp_u64[w] > target) {
      chosen = w;
      break;
    }
    base += s.warp_u64[w];
  }
  if (warp == chosen) {
    for (int32_t c = begin; c < end; c += 32) {
      const int32_t i = c + lane;
      const unsigned long long v = i < end ? f(i) : 0;
      unsigned long long incl = v;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long t = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += t;
      }
      const unsigned hit = __ballot_sync(0xffffffffu, base + incl > target);
      if (hit) {
        if (lane == 0) s.bcast_u32[1] = uint32_t(c + __ffs(hit) - 1);
        break;
      }
      base += __shfl_sync(0xffffffffu, incl, 31);
    }
  }
  __syncthreads();
  return int32_t(s.bcast_u32[1]);
}

}  // namespace kvtier::kernels::cuda::sampling
