#pragma once
// Logprobs as the OpenAI API shapes them. Completions: parallel lists {text_offset,
// token_logprobs, tokens, top_logprobs}; chat: {"content": [{token, logprob, bytes,
// top_logprobs}]}. Token text comes from the codec ("token_id:N" without a tokenizer).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/request.h"
#include "server/text_codec.h"

namespace kvtier::server {

// Python's len() of a UTF-8 string: code points, not bytes.
int64_t utf8_length(std::string_view text);

// -inf and very small values are reported as -9999.0, as vLLM does (JSON has no infinity).
double clamp_logprob(float logprob);

std::string logprob_token_text(const TextCodec* codec, int32_t id);

class CompletionLogprobs {
 public:
  CompletionLogprobs(const TextCodec* codec, int32_t num_top) : codec_(codec), num_top_(num_top) {}
  // Adds one entry per token; text offsets continue from `text_offset` (code points).
  void append(const std::vector<int32_t>& ids, const std::vector<engine::TokenLogprob>& logprobs,
              int64_t text_offset);
  // Continues offsets from the last token appended (non-streamed responses).
  void append_continuing(const std::vector<int32_t>& ids,
                         const std::vector<engine::TokenLogprob>& logprobs);
  nlohmann::ordered_json to_json() const;
  void clear();

 private:
  const TextCodec* codec_;
  int32_t num_top_;
  std::vector<int64_t> text_offset_;
  std::vector<double> token_logprobs_;
  std::vector<std::string> tokens_;
  std::vector<nlohmann::ordered_json> top_logprobs_;
  int64_t next_offset_ = 0;
};

// The chat "content" entries for these tokens.
nlohmann::ordered_json chat_logprobs_content(const TextCodec* codec,
                                             const std::vector<int32_t>& ids,
                                             const std::vector<engine::TokenLogprob>& logprobs,
                                             int32_t top_logprobs);

}  // namespace kvtier::server
