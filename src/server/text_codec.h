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
  // The text's ids without special tokens around them.
  virtual Expected<std::vector<int32_t>> encode(std::string_view text) const = 0;
  // Adds the special tokens the tokenizer's post-processor puts around one sequence (a BOS,
  // say), as Hugging Face's add_special_tokens=True does after encoding. Qwen3's byte-level
  // post-processor adds none, and so does every tokenizer.json kvtier reads (tokenizer_json.h).
  virtual void add_special_tokens(std::vector<int32_t>& ids) const {}
  // A prompt's ids: vLLM's add_special_tokens decides whether the special tokens are added.
  Expected<std::vector<int32_t>> encode_prompt(std::string_view text,
                                               bool with_special_tokens) const {
    KVTIER_ASSIGN_OR_RETURN(std::vector<int32_t> ids, encode(text));
    if (with_special_tokens) add_special_tokens(ids);
    return ids;
  }
  // Renders with options.chat_template when set, else with the tokenizer's template.
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
