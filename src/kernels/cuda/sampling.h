#pragma once
// Sampling on the device, one block per logits row, so only ids and log-probabilities cross PCIe.
//   argmax_rows: greedy decoding (lowest index on ties).
//   sample_rows: the engine's host sampler (engine/sampler.cpp) on the device, with the same
//     order of operations and the same counter-based random stream: temperature, min_p relative
//     to the most likely token, top_k (ties to lower ids), top_p (the smallest heaviest set
//     reaching the mass, ties to lower ids), then an inverse-CDF draw in vocabulary order with
//     u = uniform_from(seed, counter). Log-probabilities are of the raw row (vLLM's default).
//     A top_k of at most 64 keeps the row's k heaviest in one pass and finishes over them alone,
//     with the same result as the general path.
// Every reduction is in fixed order or over integers, so a row's result does not depend on the
// other rows of the batch nor on the run.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernel_status.h"

namespace kvtier::kernels::cuda {

// As engine/sampler.cpp: temperatures below this are greedy.
constexpr float kGreedyTemperature = 1e-5f;

// Most top log-probabilities a row may ask for (vLLM's default --max-logprobs).
constexpr int32_t kMaxSampleLogprobs = 20;

// One row's sampling parameters as the device reads them (plain data, copied as bytes).
struct SampleRowParams {
  float temperature = 1.0f;  // below 1e-5: arg-max
  int32_t top_k = 0;         // <= 0 or >= vocab: off
  float top_p = 1.0f;        // >= 1: off; in (0, 1]
  float min_p = 0.0f;        // 0: off; in [0, 1]
  uint64_t seed = 0;
  uint64_t counter = 0;      // which draw of the seed's stream
  int32_t num_logprobs = -1; // -1: none; 0: the chosen token's; n <= kMaxSampleLogprobs: top n too
  int32_t pad_ = 0;
};

// top_k at or below this (and below the vocabulary) takes sample_rows' small-top_k path.
constexpr int32_t kMaxSmallTopK = 64;

// Whether a row's draw takes the small-top_k path (host and device agree on it).
__host__ __device__ inline bool takes_small_top_k(const SampleRowParams& p, int32_t vocab) {
  return p.top_k > 0 && p.top_k <= kMaxSmallTopK && p.top_k < vocab;
}

struct SampleRowResult {
  int32_t id;
  float logprob;  // of the chosen token; 0 when no logprobs were asked for
  int32_t num_top;
  int32_t top_ids[kMaxSampleLogprobs];  // highest first, ties to the lower id
  float top_logprobs[kMaxSampleLogprobs];
};

KernelStatus argmax_rows(cudaStream_t stream, const float* logits, int32_t rows, int32_t vocab,
                         int32_t* ids);

// `params` and `results` are device arrays of `rows` entries; `logits` is [rows][vocab] fp32.
KernelStatus sample_rows(cudaStream_t stream, const float* logits, int32_t rows, int32_t vocab,
                         const SampleRowParams* params, SampleRowResult* results);

// sample_rows with every row on the general radix-select path: the reference the small-top_k
// path must equal token for token, and the lighter launch (fewer registers and less shared
// memory per block) for batches in which no sampled row has a small top_k.
KernelStatus sample_rows_general(cudaStream_t stream, const float* logits, int32_t rows,
                                 int32_t vocab, const SampleRowParams* params,
                                 SampleRowResult* results);

// The host sampler's uniform in [0, 1) for (seed, counter), as the device computes it.
double sample_uniform(uint64_t seed, uint64_t counter);

}  // namespace kvtier::kernels::cuda
