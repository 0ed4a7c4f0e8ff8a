#pragma once
// What the API layer needs from a tokenizer: prompts to ids, chats through the model's template,
// and token text for logprobs, /tokenize and /detokenize. The server uses the real tokenizer
// (make_tokenizer_codec); handler tests substitute a small deterministic one.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::server {

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  virtual Expected<std::vector<int32_t>> encode(std::string_view text) const = 0;
  virtual Expected<std::string> render_chat(const nlohmann::ordered_json& messages,
                                            const tokenizer::ChatOptions& options) const = 0;
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const = 0;
  // One token as text (incomplete UTF-8 shows as U+FFFD), as vLLM prints tokens in logprobs.
  virtual std::string token_text(int32_t id) const = 0;
  // One token's raw bytes.
  virtual std::string token_bytes(int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;
};

std::shared_ptr<const TextCodec> make_tokenizer_codec(
    std::shared_ptr<const tokenizer::Tokenizer> tokenizer);

}  // namespace kvtier::server
