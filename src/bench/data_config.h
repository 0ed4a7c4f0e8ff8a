#pragma once
// GuideLLM's synthetic text data (--data): token counts for prompts and outputs (each an
// average with optional stdev/min/max), shared prefixes and multi-turn conversations.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kvtier::bench {

struct TokenRange {
  int64_t average = 0;
  std::optional<int64_t> stdev, min, max;
};

struct PrefixBucket {
  int64_t bucket_weight = 100;
  int64_t prefix_count = 1;
  int64_t prefix_tokens = 0;
};

struct SyntheticDataConfig {
  TokenRange prompt;
  std::optional<TokenRange> output;  // none: the server's default length, no ignore_eos
  int64_t turns = 1;
  std::vector<PrefixBucket> prefix_buckets;  // empty: no prefix
  // Top-level keys this generator does not know, ignored as GuideLLM ignores them (its config
  // allows extra keys); not part of to_json().
  std::vector<std::string> ignored_keys;

  nlohmann::json to_json() const;
};

// Accepts the JSON or key=value text of --data, or a path to a .json file holding it. Unknown
// top-level keys are collected in ignored_keys; a known key with a bad value is an error.
Expected<SyntheticDataConfig> parse_data_config(std::string_view text);
Expected<SyntheticDataConfig> data_config_from_json(const nlohmann::json& j);

}  // namespace kvtier::bench
