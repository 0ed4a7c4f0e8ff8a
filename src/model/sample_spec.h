#pragma once
// Sampling inside the model runner: what the engine asks for each logits row, and what comes
// back. Semantics are the engine's host sampler's (temperature, min_p, top_k, top_p, then a draw
// from the request's counter-based stream); a runner that samples on the device returns only
// these, not the logits.
#include <cstdint>
#include <utility>
#include <vector>

namespace kvtier::model {

// Most top log-probabilities a row may ask for on the device (vLLM's default --max-logprobs).
constexpr int32_t kMaxSampleLogprobs = 20;

struct SampleSpec {
  float temperature = 1.0f;   // below 1e-5: greedy (arg-max, lowest id on ties)
  int32_t top_k = 0;          // <= 0: off
  float top_p = 1.0f;         // 1: off
  float min_p = 0.0f;         // 0: off
  uint64_t seed = 0;          // the request's random stream
  uint64_t counter = 0;       // which draw of that stream (tokens generated so far)
  int32_t num_logprobs = -1;  // -1: none; 0: the sampled token's; n: also the n most likely
};

struct SampledToken {
  int32_t id = 0;
  float logprob = 0.0f;  // log_softmax of the raw logits at `id` (when asked for)
  std::vector<std::pair<int32_t, float>> top;  // highest first, ties to the lower id
};

}  // namespace kvtier::model
