#include "engine/request_validation.h"

#include <cmath>

namespace kvtier::engine {
namespace {

Status out_of_range(std::string message) {
  return Status(ErrorCode::kOutOfRange, std::move(message));
}

Status validate_sampling(const SamplingParams& p, const RequestLimits& limits) {
  if (!std::isfinite(p.temperature) || p.temperature < 0.0f) {
    return invalid_argument("temperature must be >= 0, got {}", p.temperature);
  }
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return invalid_argument("top_p must be in (0, 1], got {}", p.top_p);
  }
  if (p.top_k < -1)
    return invalid_argument("top_k must be -1 (disable), 0 or positive, got {}", p.top_k);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
    return invalid_argument("min_p must be in [0, 1], got {}", p.min_p);
  }
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f)) {
    return invalid_argument("presence_penalty must be in [-2, 2], got {}", p.presence_penalty);
  }
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f)) {
    return invalid_argument("frequency_penalty must be in [-2, 2], got {}", p.frequency_penalty);
  }
  if (!(p.repetition_penalty > 0.0f && std::isfinite(p.repetition_penalty))) {
    return invalid_argument("repetition_penalty must be in (0, inf), got {}", p.repetition_penalty);
  }
  if (p.max_tokens < 1)
    return invalid_argument("max_tokens must be at least 1, got {}", p.max_tokens);
  if (p.min_tokens < 0) return invalid_argument("min_tokens must be >= 0, got {}", p.min_tokens);
  if (p.min_tokens > p.max_tokens) {
    return invalid_argument("min_tokens must be less than or equal to max_tokens={}, got {}",
                            p.max_tokens, p.min_tokens);
  }
  if (p.logprobs && (*p.logprobs < 0 || *p.logprobs > limits.max_logprobs)) {
    return invalid_argument("logprobs must be in [0, {}] (--max-logprobs), got {}",
                            limits.max_logprobs, *p.logprobs);
  }
  for (size_t i = 0; i < p.stop.size(); ++i) {
    if (p.stop[i].empty()) return invalid_argument("stop[{}] is an empty string", i);
  }
  if (!p.stop.empty() && !limits.has_tokenizer) {
    return invalid_argument(
        "stop strings need a tokenizer and this model has none (no tokenizer.json); "
        "use stop_token_ids instead");
  }
  for (size_t i = 0; i < p.stop_token_ids.size(); ++i) {
    const int32_t id = p.stop_token_ids[i];
    if (id < 0 || id >= limits.vocab_size) {
      return out_of_range(fmt::format("stop_token_ids[{}] = {} is outside the vocabulary [0, {})",
                                      i, id, limits.vocab_size));
    }
  }
  for (size_t i = 0; i < p.allowed_token_ids.size(); ++i) {
    const int32_t id = p.allowed_token_ids[i];
    if (id < 0 || id >= limits.vocab_size) {
      return out_of_range(fmt::format(
          "allowed_token_ids[{}] = {} is outside the vocabulary [0, {})", i, id,
          limits.vocab_size));
    }
  }
  for (size_t i = 0; i < p.bad_words_token_ids.size(); ++i) {
    const std::vector<int32_t>& word = p.bad_words_token_ids[i];
    if (word.empty()) return invalid_argument("bad word {} has no token ids", i);
    for (int32_t id : word) {
      if (id < 0 || id >= limits.vocab_size) {
        return out_of_range(fmt::format("bad word {} has token id {} outside the vocabulary [0, {})",
                                        i, id, limits.vocab_size));
      }
    }
  }
  return Status::ok();
}

}  // namespace

Status validate_request(const GenerationRequest& request, const RequestLimits& limits) {
  if (request.request_id.empty()) return invalid_argument("request_id is empty");
  if (!request.sink) return invalid_argument("request {} has no output sink", request.request_id);
  const auto& prompt = request.prompt_ids;
  if (prompt.empty()) return invalid_argument("the prompt is empty");
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= limits.vocab_size) {
      return out_of_range(
          fmt::format("prompt token {} at position {} is outside the vocabulary [0, {})", prompt[i],
                      i, limits.vocab_size));
    }
  }
  const int64_t len = int64_t(prompt.size());
  if (len >= limits.max_model_len) {
    return out_of_range(fmt::format(
        "This model's maximum context length is {} tokens. However, your request has {} input "
        "tokens. Please reduce the length of the input.",
        limits.max_model_len, len));
  }
  KVTIER_RETURN_IF_ERROR(validate_sampling(request.sampling, limits));
  if (request.priority != 0 && !limits.priority_scheduling) {
    // vLLM's words, which clients match on, then the flag that would accept the request.
    return invalid_argument(
        "Got priority {} but Priority scheduling is not enabled. Start the server with "
        "--scheduling-policy priority to use it.",
        request.priority);
  }
  if (len + request.sampling.max_tokens > limits.max_model_len) {
    return out_of_range(fmt::format(
        "'max_tokens' or 'max_completion_tokens' is too large: {}. This model's maximum context "
        "length is {} tokens and your request has {} input tokens ({} > {} - {}).",
        request.sampling.max_tokens, limits.max_model_len, len, request.sampling.max_tokens,
        limits.max_model_len, len));
  }
  return Status::ok();
}

}  // namespace kvtier::engine
