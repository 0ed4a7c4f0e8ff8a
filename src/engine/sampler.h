#pragma once
// Turns one row of logits into a token, as vLLM's sampler does: log-probabilities of the raw
// logits (vLLM's default logprobs mode, so they ignore every mask below), allowed_token_ids and
// bad_words masking, min_tokens masking of stop tokens, repetition / frequency / presence
// penalties, then greedy, or temperature -> min_p -> top_k -> top_p and a draw from a
// per-request random stream (the same tokens whatever the batch).
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/request.h"

namespace kvtier::engine {

// What the sampler needs to know about one request's history.
struct SamplingState {
  uint64_t seed = 0;                                   // the request's random stream
  std::vector<int32_t> prompt_unique;                  // sorted distinct prompt ids (repetition)
  std::unordered_map<int32_t, int32_t> output_counts;  // generated ids (penalties)
  int32_t num_output = 0;
  std::span<const int32_t> stop_ids;  // eos and stop_token_ids, masked early
  // The generated ids in order; kept only when a bad word has more than one token, since only
  // those look back at the output.
  std::vector<int32_t> output_ids;
  bool keeps_output_ids = false;

  // Prepares the state for `params` over `prompt`.
  void init(const SamplingParams& params, std::span<const int32_t> prompt, uint64_t seed_value,
            std::span<const int32_t> stop_token_ids);
  void append(const SamplingParams& params, int32_t token);
};

// A uniform double in [0, 1) from (seed, counter): counter-based, so a request's draws do not
// depend on what else ran.
double uniform_from(uint64_t seed, uint64_t counter);

class Sampler {
 public:
  // Samples from `logits` (modified in place). Fills `logprob` (the chosen token and the top
  // `params.logprobs` alternatives) when logprobs were asked for.
  int32_t sample(std::span<float> logits, const SamplingParams& params, const SamplingState& state,
                 TokenLogprob* logprob);

 private:
  // Log-softmax of the raw row: the chosen token's value and the `top_n` highest.
  void fill_logprobs(std::span<const float> raw, int32_t token, int32_t top_n, TokenLogprob& out);
  // Everything outside params.allowed_token_ids to -inf (nothing when the list is empty).
  void mask_disallowed(std::span<float> logits, const SamplingParams& params);
  void ban_bad_words(std::span<float> logits, const SamplingParams& params,
                     const SamplingState& state);
  void apply_penalties(std::span<float> logits, const SamplingParams& params,
                       const SamplingState& state);
  int32_t draw(std::span<float> logits, const SamplingParams& params, double u);
  // Reorders the candidates in idx_ so the first entries are the smallest heaviest set whose
  // mass reaches `fraction` of theirs (ties go to lower ids); returns its size.
  size_t top_p_cut(double fraction);

  // Scratch reused across calls so steady-state sampling does not allocate.
  std::vector<int32_t> idx_;
  std::vector<float> weights_;
  std::vector<float> raw_;
  std::vector<float> allowed_values_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace kvtier::engine
