#pragma once
// Token-level finish checks after a token was appended, in vLLM's order: length (max_tokens or
// max_model_len) first, then nothing before min_tokens, then eos (unless ignore_eos), then
// stop_token_ids. Stop strings are checked on the text (TextStream).
#include <cstdint>
#include <optional>
#include <span>

#include "engine/request.h"

namespace kvtier::engine {

struct TokenStop {
  FinishReason reason = FinishReason::kStop;
  std::optional<int32_t> stop_token;  // set when a stop_token_ids entry matched
  bool by_stop_token() const { return reason == FinishReason::kStop; }
};

std::optional<TokenStop> check_token_stop(const SamplingParams& params, int32_t token,
                                          int32_t num_output, int32_t num_tokens,
                                          int32_t max_model_len,
                                          std::span<const int32_t> eos_token_ids);

}  // namespace kvtier::engine
