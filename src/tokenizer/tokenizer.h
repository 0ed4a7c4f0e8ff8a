#pragma once
// Hugging Face tokenizer.json byte-level BPE (Qwen3's), with its chat template.
// Immutable after load: safe to share between threads.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kvtier::tokenizer {

class ChatTemplate;
struct TokenizerSpec;
struct TokenizerConfig;

struct ChatOptions {
  bool add_generation_prompt = true;
  // Absent means "undefined" inside the template (Qwen3's template tests `is defined`).
  std::optional<bool> enable_thinking;
  nlohmann::json tools;  // null when absent
  // Used instead of `tools` when not null: keeps the request's key order, which tojson prints
  // (as Python's json.dumps does); nlohmann::json sorts keys.
  nlohmann::ordered_json ordered_tools;
  // More template variables (vLLM's chat_template_kwargs), as a JSON object or null.
  nlohmann::ordered_json template_kwargs;
  // Rendered instead of the tokenizer's own template when set (a request's chat_template).
  std::shared_ptr<const ChatTemplate> chat_template;
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and DIR/tokenizer_config.json; the chat template is parsed here so a
  // template the interpreter cannot handle fails at load, naming the line and construct.
  static Expected<std::shared_ptr<const Tokenizer>> load(const std::filesystem::path& dir);
  // From already-read parts (tokenizer_json.h, tokenizer_config.h).
  static Expected<std::shared_ptr<const Tokenizer>> build(TokenizerSpec spec, TokenizerConfig config);
  ~Tokenizer();

  // Special tokens in the text are matched as Hugging Face does (added_tokens before
  // pre-tokenization). Invalid UTF-8 is an error.
  Expected<std::vector<int32_t>> encode(std::string_view text) const;
  // Concatenated bytes decoded to text (invalid UTF-8 replaced with U+FFFD, as HF's errors="replace").
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  // The raw bytes of one token (after byte-level decoding); special tokens give their content.
  const std::string& token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;

  int32_t vocab_size() const;               // highest id + 1, added tokens included
  std::optional<int32_t> eos_token_id() const;  // from tokenizer_config.json's eos_token
  std::optional<int32_t> pad_token_id() const;
  std::optional<int32_t> bos_token_id() const;

  bool has_chat_template() const;
  // messages: [{"role": ..., "content": ...}, ...] as in the OpenAI API.
  Expected<std::string> apply_chat_template(const nlohmann::json& messages,
                                            const ChatOptions& options) const;
  // The same keeping the key order of the messages' objects (what tojson prints).
  Expected<std::string> apply_chat_template(const nlohmann::ordered_json& messages,
                                            const ChatOptions& options) const;
  const ChatTemplate* chat_template() const;

 private:
  Tokenizer();
  const ChatTemplate* template_for(const ChatOptions& options) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Streams text out of generated ids: emits only complete UTF-8, holding back partial multi-byte
// sequences, and skips special tokens when asked. One per request; not thread-safe.
class IncrementalDetokenizer {
 public:
  IncrementalDetokenizer(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special_tokens);
  // Returns the text that became complete with this token (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held back (incomplete UTF-8 becomes U+FFFD), at the end of a request.
  std::string flush();

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace kvtier::tokenizer
