#pragma once
// The generation endpoints' request bodies, parsed and checked before anything is tokenized.
// Parsing is pure: it needs neither the engine nor the tokenizer, so every rule is unit-testable.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/request.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::server {

// vLLM's default --max-logprobs.
inline constexpr int32_t kMaxLogprobs = 20;

struct StreamOptions {
  bool include_usage = false;
  bool continuous_usage_stats = false;
};

// Sampling defaults for fields a request leaves out. vLLM takes them from the model's
// generation_config.json (--generation-config auto); max_tokens (max_new_tokens) caps the
// output length even when a request asks for more.
struct SamplingDefaults {
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int32_t> top_k;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<int64_t> max_tokens;
  // eos_token_id of the file (one id or several); checked against the vocabulary at start.
  std::vector<int32_t> eos_token_ids;
  // Not a default but the --max-logprobs limit: the most top logprobs a request may ask for.
  int32_t max_logprobs = kMaxLogprobs;
};

// Reads generation_config.json in `model_dir`; no file means no defaults. Errors name the file
// and key.
Expected<SamplingDefaults> read_generation_config(const std::filesystem::path& model_dir);
// Checks at start what config.json and generation_config.json say together: each file valid,
// and every eos_token_id inside config.json's vocabulary (an id the model cannot produce would
// never stop a request). A folder without config.json (a preset name) passes.
Status check_model_token_ids(const std::filesystem::path& model_dir);

// Fields that /v1/completions and /v1/chat/completions share.
struct GenerateOptions {
  std::optional<std::string> model;
  engine::SamplingParams sampling;     // max_tokens is set by fit_to_context()
  std::optional<int64_t> max_tokens;   // as requested (max_completion_tokens wins in chat)
  bool stream = false;
  StreamOptions stream_options;
  std::string cache_salt;
  std::optional<int64_t> max_tokens_cap;  // from SamplingDefaults::max_tokens
  // truncate_prompt_tokens: keep only the prompt's last k tokens; -1 means max_model_len.
  std::optional<int64_t> truncate_prompt_tokens;
  // vLLM's priority (any integer; lower is served first): the engine refuses a non-zero one
  // unless it runs with --scheduling-policy priority.
  int64_t priority = 0;
  // vLLM's return_token_ids: responses carry the prompt's and the output's token ids.
  bool return_token_ids = false;
  // bad_words as sent; bad_words_token_ids() turns them into sampling.bad_words_token_ids once
  // the tokenizer is at hand.
  std::vector<std::string> bad_words;
};

// Applies options.truncate_prompt_tokens to `prompt_ids` (vLLM's left truncation: the last k
// tokens stay). Returns whether it cut anything; an error when k exceeds max_model_len.
Expected<bool> truncate_prompt(const GenerateOptions& options, int64_t max_model_len,
                               std::vector<int32_t>& prompt_ids);

struct CompletionApiRequest {
  GenerateOptions options;
  std::optional<std::string> prompt_text;  // set for text prompts
  std::vector<int32_t> prompt_ids;         // set for token-id prompts
  bool echo = false;
  // Whether a text prompt gets the tokenizer's special tokens (BOS...): vLLM's default is true
  // for completions.
  bool add_special_tokens = true;
};

struct ChatApiRequest {
  GenerateOptions options;
  nlohmann::ordered_json messages;     // each message's content flattened to a string (or null)
  tokenizer::ChatOptions chat;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  // vLLM's default for chat is false: the template already writes the special tokens it wants.
  bool add_special_tokens = false;
  // The request's own template (chat_template, or chat_template_kwargs.chat_template, which
  // wins as in vLLM), still to be checked and compiled (request_chat_template.h).
  std::optional<std::string> chat_template;
};

Expected<CompletionApiRequest> parse_completion_request(const nlohmann::ordered_json& body,
                                                       const SamplingDefaults& defaults = {});
Expected<ChatApiRequest> parse_chat_request(const nlohmann::ordered_json& body,
                                            const SamplingDefaults& defaults = {});

// Shared by both parsers: sampling fields, stop conditions, streaming options.
Status parse_generate_options(const nlohmann::ordered_json& body, const SamplingDefaults& defaults,
                              GenerateOptions& options);

// Sets sampling.max_tokens once the prompt length is known, with vLLM's rules: a prompt that
// fills the context, or prompt + max_tokens beyond it, is an error; without max_tokens, chat
// gets the rest of the context and completions get `default_max_tokens` (16).
Status fit_to_context(GenerateOptions& options, int64_t prompt_tokens, int64_t max_model_len,
                      std::optional<int64_t> default_max_tokens);

// Token ids in prompts, stop_token_ids and allowed_token_ids must lie in [0, vocab_size).
Status check_token_ids(const std::vector<int32_t>& ids, int32_t vocab_size, const char* field);

}  // namespace kvtier::server
