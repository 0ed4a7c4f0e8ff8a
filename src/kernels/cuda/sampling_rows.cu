// sample_rows: the host sampler's semantics on the device, one block of kSampleThreads per row.
// Passes over a row (each a read of vocab floats; a 152k row is ~600 KB, so a batch's rows come
// from HBM): arg-max; then, when sampling, a candidate count and four radix passes for top_k,
// a mass sum and four radix passes for top_p, a mass sum and a segment walk for the draw; then,
// for logprobs, a log-sum-exp pass and four radix passes for the top n. With a small top_k
// (Qwen3's default 20, the common 50) the draw instead reads the row once more, keeping its k
// heaviest weights (sampling_top_k.cuh), and finishes top_p and the draw over those alone.
#include <climits>
#include <cmath>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/sampling.h"
#include "kernels/cuda/sampling_select.cuh"
#include "kernels/cuda/sampling_top_k.cuh"

namespace kvtier::kernels::cuda {
namespace {

using sampling::BlockScratch;
using sampling::kSampleThreads;
using u64 = unsigned long long;

// Masses are weights (in (0, 1], relative to the most likely token) in units of 2^-40: exact
// integer sums up to 2^24 tokens, finer than a float weight's own rounding near 1.
constexpr float kMassScale = 1099511627776.0f;  // 2^40

__host__ __device__ inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// engine::uniform_from, bit for bit.
__host__ __device__ inline double uniform_of(uint64_t seed, uint64_t counter) {
  const uint64_t bits = splitmix64(seed ^ splitmix64(counter + 0x632BE59BD9B4E019ull));
  return double(bits >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

__device__ __forceinline__ float clean(float x) { return x != x ? -INFINITY : x; }

// Order-preserving key of a float (NaN as -inf, -0 as +0): larger value, larger key.
__device__ __forceinline__ uint32_t order_key(float x) {
  x = clean(x);
  if (x == 0.f) x = 0.f;
  const uint32_t b = __float_as_uint(x);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ unsigned long long mass_of(float w) {
  return __float2ull_rn(w * kMassScale);
}

struct RowView {
  const float* row;
  int32_t vocab;
  float max_logit;
  float inv_t;
  float min_p;
  // The host sampler's weight: exp((logit - max) / T), zero below min_p.
  __device__ __forceinline__ float weight(int32_t i) const {
    const float w = expf((row[i] - max_logit) * inv_t);
    return (w > 0.f && w >= min_p) ? w : 0.f;
  }
};

// A weight is kept when it is positive and ranks, by (weight desc, id asc), at or before the cut
// (key, tie): heavier than `key`, or equal to it with an id <= `tie`.
struct Cut {
  uint32_t key = 0;
  int32_t tie = INT_MAX;
  __device__ __forceinline__ bool keeps(int32_t i, float w) const {
    const uint32_t k = __float_as_uint(w);
    return w > 0.f && (k > key || (k == key && i <= tie));
  }
};

// The id of the `keep_eq`-th element (in id order) whose key equals `key` among `part`.
template <typename Part>
__device__ int32_t tie_cut(const RowView& v, uint32_t key, unsigned long long keep_eq, Part part,
                           BlockScratch& s) {
  return sampling::find_crossing(
      v.vocab, keep_eq - 1,
      [&](int32_t i) -> unsigned long long {
        const float w = v.weight(i);
        return (part(i, w) && __float_as_uint(w) == key) ? 1ull : 0ull;
      },
      s);
}

// Returns the drawn id, or -1 when nothing keeps any mass (the caller falls back to arg-max).
__device__ int32_t draw(const RowView& v, const SampleRowParams& p, BlockScratch& s) {
  const int32_t n = v.vocab;
  Cut top_k;
  if (p.top_k > 0 && p.top_k < n) {
    unsigned long long mine = 0;
    for (int32_t i = threadIdx.x; i < n; i += kSampleThreads) mine += v.weight(i) > 0.f ? 1 : 0;
    const unsigned long long candidates = sampling::block_sum_u64(mine, s);
    if (candidates > u64(p.top_k)) {
      const auto r = sampling::radix_select(
          n, u64(p.top_k),
          [&](int32_t i, uint32_t& key, unsigned long long& mass) {
            const float w = v.weight(i);
            key = __float_as_uint(w);
            mass = 1;
            return w > 0.f;
          },
          s);
      top_k.key = r.key;
      const unsigned long long keep_eq = u64(p.top_k) - r.mass_above;
      if (keep_eq < r.mass_equal) {
        top_k.tie = tie_cut(v, r.key, keep_eq, [](int32_t, float w) { return w > 0.f; }, s);
      }
    }
  }

  Cut top_p;
  if (p.top_p < 1.0f) {
    unsigned long long mine = 0;
    for (int32_t i = threadIdx.x; i < n; i += kSampleThreads) {
      const float w = v.weight(i);
      if (top_k.keeps(i, w)) mine += mass_of(w);
    }
    const unsigned long long total = sampling::block_sum_u64(mine, s);
    if (total > 0) {
      unsigned long long need = u64(ceil(double(p.top_p) * double(total)));
      need = need < 1 ? 1 : need > total ? total : need;
      const auto r = sampling::radix_select(
          n, need,
          [&](int32_t i, uint32_t& key, unsigned long long& mass) {
            const float w = v.weight(i);
            key = __float_as_uint(w);
            mass = mass_of(w);
            return top_k.keeps(i, w);
          },
          s);
      top_p.key = r.key;
      const unsigned long long unit = mass_of(__uint_as_float(r.key));
      const unsigned long long num_eq = r.mass_equal / unit;
      unsigned long long keep_eq = (need - r.mass_above + unit - 1) / unit;
      keep_eq = keep_eq < 1 ? 1 : keep_eq > num_eq ? num_eq : keep_eq;
      if (keep_eq < num_eq) {
        top_p.tie = tie_cut(v, r.key, keep_eq,
                            [&](int32_t i, float w) { return top_k.keeps(i, w); }, s);
      }
    }
  }

  auto kept_mass = [&](int32_t i) -> unsigned long long {
    const float w = v.weight(i);
    return (top_k.keeps(i, w) && top_p.keeps(i, w)) ? mass_of(w) : 0ull;
  };
  unsigned long long mine = 0;
  for (int32_t i = threadIdx.x; i < n; i += kSampleThreads) mine += kept_mass(i);
  const unsigned long long total = sampling::block_sum_u64(mine, s);
  if (total == 0) return -1;
  unsigned long long target = u64(uniform_of(p.seed, p.counter) * double(total));
  if (target >= total) target = total - 1;
  return sampling::find_crossing(n, target, kept_mass, s);
}

__device__ __forceinline__ int32_t warp_min_i(int32_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ unsigned long long warp_scan_u64(unsigned long long v) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const unsigned long long t = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += t;
  }
  return v;
}

// draw() for top_k <= kMaxSmallTopK, with the same result: the top_k set is the k heaviest
// (weight desc, id asc), so top_p's cut is a prefix of that order (the radix select's key is
// where the running mass first reaches `need`; of the weights equal to it, the lowest ids stay),
// and the draw's running sum in vocabulary order only meets kept ids. Warp 0 finishes, two
// candidates per lane.
__device__ int32_t draw_small_top_k(const RowView& v, const SampleRowParams& p) {
  __shared__ sampling::TopKScratch t;
  const int m = sampling::block_top_k(
      v.vocab, p.top_k, [&](int32_t i) { return v.weight(i); }, t);
  if (threadIdx.x < 32) {
    const int lane = threadIdx.x;
    uint32_t bits[2];
    int32_t id[2];
    u64 mass[2];
    bool valid[2];
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int j = lane + 32 * e;
      valid[e] = j < m;
      const u64 key = valid[e] ? t.top[j] : 0ull;
      bits[e] = sampling::rank_weight_bits(key);
      id[e] = valid[e] ? sampling::rank_id(key) : INT_MAX;
      mass[e] = valid[e] ? mass_of(__uint_as_float(bits[e])) : 0ull;
    }
    int keep = m;  // the top_p set is t.top[0, keep)
    const u64 total_k = sampling::warp_sum_u64(mass[0] + mass[1]);
    if (p.top_p < 1.0f && total_k > 0) {
      u64 need = u64(ceil(double(p.top_p) * double(total_k)));
      need = need < 1 ? 1 : need > total_k ? total_k : need;
      const u64 incl0 = warp_scan_u64(mass[0]);
      const u64 incl1 = __shfl_sync(0xffffffffu, incl0, 31) + warp_scan_u64(mass[1]);
      const unsigned hit0 = __ballot_sync(0xffffffffu, valid[0] && incl0 >= need);
      const unsigned hit1 = __ballot_sync(0xffffffffu, valid[1] && incl1 >= need);
      // The last valid prefix is total_k >= need, so one of them hits.
      const int j = hit0 ? __ffs(hit0) - 1 : 32 + __ffs(hit1) - 1;
      const uint32_t cut = sampling::rank_weight_bits(t.top[j]);
      const u64 above = sampling::warp_sum_u64((valid[0] && bits[0] > cut ? mass[0] : 0ull) +
                                               (valid[1] && bits[1] > cut ? mass[1] : 0ull));
      const int num_above = __popc(__ballot_sync(0xffffffffu, valid[0] && bits[0] > cut)) +
                            __popc(__ballot_sync(0xffffffffu, valid[1] && bits[1] > cut));
      const u64 num_eq = u64(__popc(__ballot_sync(0xffffffffu, valid[0] && bits[0] == cut)) +
                             __popc(__ballot_sync(0xffffffffu, valid[1] && bits[1] == cut)));
      const u64 unit = mass_of(__uint_as_float(cut));
      u64 keep_eq = (need - above + unit - 1) / unit;
      keep_eq = keep_eq < 1 ? 1 : keep_eq > num_eq ? num_eq : keep_eq;
      keep = num_above + int(keep_eq);
    }
    u64 kept[2];
#pragma unroll
    for (int e = 0; e < 2; ++e) kept[e] = lane + 32 * e < keep ? mass[e] : 0ull;
    const u64 total = sampling::warp_sum_u64(kept[0] + kept[1]);
    int32_t drawn = -1;
    if (total > 0) {
      u64 target = u64(uniform_of(p.seed, p.counter) * double(total));
      if (target >= total) target = total - 1;
      // The running kept mass in vocabulary order up to and including each candidate's id.
      u64 upto[2] = {0ull, 0ull};
      for (int src = 0; src < 32; ++src) {
#pragma unroll
        for (int f = 0; f < 2; ++f) {
          const int32_t oid = __shfl_sync(0xffffffffu, id[f], src);
          const u64 om = __shfl_sync(0xffffffffu, kept[f], src);
#pragma unroll
          for (int e = 0; e < 2; ++e) upto[e] += oid <= id[e] ? om : 0ull;
        }
      }
      int32_t first = INT_MAX;
#pragma unroll
      for (int e = 0; e < 2; ++e)
        if (kept[e] > 0 && upto[e] > target) first = min(first, id[e]);
      first = warp_min_i(first);
      drawn = first == INT_MAX ? v.vocab : first;
    }
    if (lane == 0) t.drawn = drawn;
  }
  __syncthreads();
  return t.drawn;
}

// Fills the chosen token's log-probability and the top n of the raw row.
__device__ void fill_logprobs(const float* row, int32_t n, float max_logit, int32_t token,
                              int32_t num_top, SampleRowResult& out, BlockScratch& s) {
  __shared__ float top_val[kMaxSampleLogprobs];
  __shared__ int32_t top_id[kMaxSampleLogprobs];
  __shared__ int top_count;
  float mine = 0.f;
  for (int32_t i = threadIdx.x; i < n; i += kSampleThreads) mine += expf(clean(row[i]) - max_logit);
  const float lse = isfinite(max_logit) ? max_logit + logf(sampling::block_sum_f(mine, s))
                                        : max_logit;
  if (threadIdx.x == 0) {
    out.logprob = clean(row[token]) - lse;
    out.num_top = num_top;
    top_count = 0;
  }
  if (num_top == 0) return;
  const auto r = sampling::radix_select(
      n, u64(num_top),
      [&](int32_t i, uint32_t& key, unsigned long long& mass) {
        key = order_key(row[i]);
        mass = 1;
        return true;
      },
      s);
  int32_t tie = INT_MAX;
  const unsigned long long keep_eq = u64(num_top) - r.mass_above;
  if (keep_eq < r.mass_equal) {
    tie = sampling::find_crossing(
        n, keep_eq - 1,
        [&](int32_t i) -> unsigned long long { return order_key(row[i]) == r.key ? 1ull : 0ull; },
        s);
  }
  __syncthreads();  // top_count is reset
  for (int32_t i = threadIdx.x; i < n; i += kSampleThreads) {
    const uint32_t key = order_key(row[i]);
    if (key > r.key || (key == r.key && i <= tie)) {
      const int slot = atomicAdd(&top_count, 1);
      if (slot < kMaxSampleLogprobs) {
        top_val[slot] = clean(row[i]);
        top_id[slot] = i;
      }
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    // Slots fill in arbitrary order: sort them (highest first, ties to the lower id).
    for (int a = 1; a < num_top; ++a) {
      const float va = top_val[a];
      const int32_t ia = top_id[a];
      int b = a - 1;
      while (b >= 0 && (top_val[b] < va || (top_val[b] == va && top_id[b] > ia))) {
        top_val[b + 1] = top_val[b];
        top_id[b + 1] = top_id[b];
        --b;
      }
      top_val[b + 1] = va;
      top_id[b + 1] = ia;
    }
    for (int a = 0; a < num_top; ++a) {
      out.top_ids[a] = top_id[a];
      out.top_logprobs[a] = top_val[a] - lse;
    }
  }
}

// One row per block. kSmallTopK: whether rows with a small top_k take draw_small_top_k (off
// only in sample_rows_general, to compare the two paths).
template <bool kSmallTopK>
__device__ __forceinline__ void sample_row(const float* __restrict__ logits, int32_t vocab,
                                           const SampleRowParams* __restrict__ params,
                                           SampleRowResult* __restrict__ results) {
  __shared__ BlockScratch s;
  const float* row = logits + int64_t(blockIdx.x) * vocab;
  const SampleRowParams p = params[blockIdx.x];
  SampleRowResult& out = results[blockIdx.x];

  float best = -INFINITY;
  int best_id = INT_MAX;
  for (int32_t i = threadIdx.x; i < vocab; i += kSampleThreads)
    sampling::keep_better(best, best_id, clean(row[i]), i);
  sampling::block_argmax(best, best_id, s);
  int32_t token = best_id == INT_MAX ? 0 : best_id;

  if (!(p.temperature < kGreedyTemperature) && isfinite(best)) {
    const RowView v{row, vocab, best, 1.0f / p.temperature, p.min_p};
    int32_t drawn;
    if constexpr (kSmallTopK)
      drawn = takes_small_top_k(p, vocab) ? draw_small_top_k(v, p) : draw(v, p, s);
    else
      drawn = draw(v, p, s);
    if (drawn >= 0 && drawn < vocab) token = drawn;
  }
  if (threadIdx.x == 0) {
    out.id = token;
    out.logprob = 0.f;
    out.num_top = 0;
  }
  if (p.num_logprobs >= 0) {
    const int32_t num_top = min(min(p.num_logprobs, kMaxSampleLogprobs), vocab);
    fill_logprobs(row, vocab, best, token, num_top, out, s);
  }
}

__global__ void __launch_bounds__(kSampleThreads)
    sample_kernel_general(const float* __restrict__ logits, int32_t vocab,
                          const SampleRowParams* __restrict__ params,
                          SampleRowResult* __restrict__ results) {
  sample_row<false>(logits, vocab, params, results);
}

// Two blocks per multiprocessor, as the general kernel gets at its 32 registers: the small-top_k
// path's candidate lists would otherwise take more registers and halve the blocks in flight.
__global__ void __launch_bounds__(kSampleThreads, 2)
    sample_kernel(const float* __restrict__ logits, int32_t vocab,
                  const SampleRowParams* __restrict__ params,
                  SampleRowResult* __restrict__ results) {
  sample_row<true>(logits, vocab, params, results);
}

}  // namespace

double sample_uniform(uint64_t seed, uint64_t counter) { return uniform_of(seed, counter); }

namespace {

KernelStatus launch(cudaStream_t stream, const float* logits, int32_t rows, int32_t vocab,
                    const SampleRowParams* params, SampleRowResult* results, bool small_top_k) {
  if (rows <= 0) return kernel_ok();
  if (vocab <= 0) return kernel_arg_error("sample_rows: vocabulary size ", vocab);
  if (logits == nullptr || params == nullptr || results == nullptr)
    return kernel_arg_error("sample_rows: null logits, params or results for ", rows, " rows");
  if (small_top_k)
    sample_kernel<<<rows, kSampleThreads, 0, stream>>>(logits, vocab, params, results);
  else
    sample_kernel_general<<<rows, kSampleThreads, 0, stream>>>(logits, vocab, params, results);
  return kernel_launch_status("sample_rows");
}

}  // namespace

KernelStatus sample_rows(cudaStream_t stream, const float* logits, int32_t rows, int32_t vocab,
                         const SampleRowParams* params, SampleRowResult* results) {
  return launch(stream, logits, rows, vocab, params, results, true);
}

KernelStatus sample_rows_general(cudaStream_t stream, const float* logits, int32_t rows,
                                 int32_t vocab, const SampleRowParams* params,
                                 SampleRowResult* results) {
  return launch(stream, logits, rows, vocab, params, results, false);
}

}  // namespace kvtier::kernels::cuda
