#include "engine/stop_conditions.h"

#include <algorithm>

namespace kvtier::engine {

std::optional<TokenStop> check_token_stop(const SamplingParams& params, int32_t token,
                                          int32_t num_output, int32_t num_tokens,
                                          int32_t max_model_len,
                                          std::span<const int32_t> eos_token_ids) {
  if (num_output >= params.max_tokens || num_tokens >= max_model_len) {
    return TokenStop{FinishReason::kLength, std::nullopt};
  }
  if (num_output < params.min_tokens) return std::nullopt;
  if (!params.ignore_eos &&
      std::find(eos_token_ids.begin(), eos_token_ids.end(), token) != eos_token_ids.end()) {
    return TokenStop{FinishReason::kStop, std::nullopt};
  }
  const auto& ids = params.stop_token_ids;
  if (std::find(ids.begin(), ids.end(), token) != ids.end()) {
    return TokenStop{FinishReason::kStop, token};
  }
  return std::nullopt;
}

}  // namespace kvtier::engine
