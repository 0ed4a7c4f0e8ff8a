#pragma once
// Offline batch generation: many prompts through one engine at once, results in input order.
// Also the prompts file of `kvtier generate --prompts-file`: one JSON object per line with
// `prompt` (text) or `prompt_ids`, and optional sampling parameters under their vLLM names.
#include <filesystem>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "engine/request.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::engine {

struct OfflinePrompt {
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  std::string cache_salt;
};

struct OfflineResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> output_ids;
  std::string output_text;             // empty without a tokenizer
  std::vector<TokenLogprob> logprobs;  // one per output token when logprobs were asked for
  std::optional<FinishReason> finish_reason;
  std::optional<std::string> stop_reason;
  int32_t cached_tokens = 0;
  Status error;  // why the engine refused or failed this prompt
};

// Submits every prompt, waits for all of them and returns their results in input order. A
// prompt the engine refuses gets its error in its result; the others still run. Drives the
// engine on this thread unless it was started.
std::vector<OfflineResult> generate(Engine& engine, std::vector<OfflinePrompt> prompts);

// Parses a prompts file (JSON lines; blank lines skipped). Text prompts need `tokenizer`.
// Errors name the source, the line and the field.
Expected<std::vector<OfflinePrompt>> parse_prompts(std::istream& in, const std::string& source,
                                                   const tokenizer::Tokenizer* tokenizer,
                                                   const SamplingParams& defaults);
Expected<std::vector<OfflinePrompt>> read_prompts_file(const std::filesystem::path& path,
                                                       const tokenizer::Tokenizer* tokenizer,
                                                       const SamplingParams& defaults);

// {"prompt_ids", "output_ids", "output_text", "finish_reason", "stop_reason", "cached_tokens",
//  "logprobs": [{"ids": [...], "logprobs": [...]}] (top alternatives, highest first), "error"},
// keys in this order; logprobs only when asked for, error only on failure.
nlohmann::ordered_json result_to_json(const OfflineResult& result, bool with_logprobs);

}  // namespace kvtier::engine
