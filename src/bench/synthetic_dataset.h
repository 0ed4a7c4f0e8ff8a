#pragma once
// GuideLLM's synthetic text dataset: conversations whose prompts are filler text cut to exact
// token counts by the model's tokenizer. Every prompt starts with a unique marker
// ("<iteration> <sample> ") so no two prompts share a prefix; the shared prefixes come from the
// prefix buckets and are reused across conversations.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/data_config.h"
#include "bench/random.h"
#include "bench/token_codec.h"

namespace kvtier::bench {

struct TurnSpec {
  std::string prompt;
  int64_t prompt_tokens = 0;
  std::optional<int64_t> output_tokens;
};

struct ConversationSpec {
  int64_t index = 0;
  std::shared_ptr<const std::string> prefix;  // empty string when there is none
  // The prefix as a JSON string literal, escaped once and shared (may be null: escaped on use).
  std::shared_ptr<const std::string> prefix_json;
  int64_t prefix_tokens = 0;
  std::vector<TurnSpec> turns;
};

// Text that encodes to exactly `tokens` ids and starts with `marker`.
Expected<std::string> make_exact_token_text(const TokenCodec& codec, Random& rng,
                                            std::string_view marker, int64_t tokens);

class SyntheticDataset {
 public:
  // `iteration` numbers the pass over the data (one per benchmark, from 1), as GuideLLM's epochs:
  // it seeds the pass (seed + iteration - 1) and leads every marker.
  static Expected<std::unique_ptr<SyntheticDataset>> create(const SyntheticDataConfig& config,
                                                            std::shared_ptr<const TokenCodec> codec,
                                                            int64_t seed, int64_t iteration);

  Expected<ConversationSpec> next();

 private:
  SyntheticDataset(const SyntheticDataConfig& config, std::shared_ptr<const TokenCodec> codec,
                   int64_t seed, int64_t iteration);
  Status make_prefixes();

  SyntheticDataConfig config_;
  std::shared_ptr<const TokenCodec> codec_;
  int64_t iteration_;
  Random text_rng_;
  Random prefix_rng_;
  IntegerRangeSampler prompt_sampler_;
  std::optional<IntegerRangeSampler> output_sampler_;
  struct Prefix {
    std::shared_ptr<const std::string> text;
    std::shared_ptr<const std::string> json;
    int64_t tokens = 0;
  };
  std::vector<Prefix> prefixes_;  // repeated per bucket weight; empty: no prefix
  int64_t samples_ = 0;
  int64_t conversations_ = 0;
};

}  // namespace kvtier::bench
