#include "bench/synthetic_dataset.h"

#include <fmt/format.h>

#include <numeric>

#include "bench/filler_text.h"
#include "bench/request_body.h"

namespace kvtier::bench {

Expected<std::string> make_exact_token_text(const TokenCodec& codec, Random& rng,
                                            std::string_view marker, int64_t tokens) {
  if (tokens <= 0) return std::string();
  constexpr double kCharsPerToken = 5.0;
  constexpr double kMargin = 1.5;
  std::vector<int32_t> ids;
  for (int attempt = 1; static_cast<int64_t>(ids.size()) < tokens; ++attempt) {
    if (attempt > 8) {
      return internal_error("synthetic text: could not reach {} tokens after {} attempts", tokens,
                            attempt - 1);
    }
    std::string text(marker);
    append_filler_text(rng, static_cast<size_t>(tokens * kCharsPerToken * kMargin * attempt), text);
    KVTIER_ASSIGN_OR_RETURN(ids, codec.encode(text));
  }
  // Decoding a cut and re-encoding can merge across the cut; nearby cuts fix that.
  for (int64_t delta = 0; delta <= 16; ++delta) {
    for (int64_t k : {tokens - delta, tokens + delta}) {
      if (k <= 0 || k > static_cast<int64_t>(ids.size()) || (delta == 0 && k != tokens)) continue;
      std::string text = codec.decode(std::span<const int32_t>(ids.data(), k));
      KVTIER_ASSIGN_OR_RETURN(auto again, codec.encode(text));
      if (static_cast<int64_t>(again.size()) == tokens) return text;
      if (delta == 0) break;
    }
  }
  return internal_error("synthetic text: no cut of the filler re-encodes to exactly {} tokens",
                        tokens);
}

SyntheticDataset::SyntheticDataset(const SyntheticDataConfig& config,
                                   std::shared_ptr<const TokenCodec> codec, int64_t seed,
                                   int64_t iteration)
    : config_(config),
      codec_(std::move(codec)),
      iteration_(iteration),
      text_rng_(static_cast<uint64_t>(seed + iteration - 1)),
      prefix_rng_(static_cast<uint64_t>(seed + iteration - 1 + 3)),
      prompt_sampler_(config.prompt.average, config.prompt.stdev, config.prompt.min,
                      config.prompt.max, static_cast<uint64_t>(seed + iteration - 1)) {
  if (config.output) {
    output_sampler_.emplace(config.output->average, config.output->stdev, config.output->min,
                            config.output->max, static_cast<uint64_t>(seed + iteration));
  }
}

Expected<std::unique_ptr<SyntheticDataset>> SyntheticDataset::create(
    const SyntheticDataConfig& config, std::shared_ptr<const TokenCodec> codec, int64_t seed,
    int64_t iteration) {
  std::unique_ptr<SyntheticDataset> d(
      new SyntheticDataset(config, std::move(codec), seed, iteration));
  KVTIER_RETURN_IF_ERROR(d->make_prefixes());
  return d;
}

Status SyntheticDataset::make_prefixes() {
  if (config_.prefix_buckets.empty()) return Status::ok();
  // Each bucket's weight is shared by its prefixes; repeat them so every prefix of a bucket
  // appears the same number of times and the buckets keep their weights (GuideLLM's lcm/gcd).
  int64_t lcm = 1;
  for (const auto& b : config_.prefix_buckets) lcm = std::lcm(lcm, b.prefix_count);
  std::vector<int64_t> weights;
  for (const auto& b : config_.prefix_buckets) {
    weights.push_back(lcm * b.bucket_weight / b.prefix_count);
  }
  int64_t gcd = 0;
  for (int64_t w : weights) gcd = std::gcd(gcd, w);
  for (size_t i = 0; i < config_.prefix_buckets.size(); ++i) {
    const auto& bucket = config_.prefix_buckets[i];
    std::vector<Prefix> made;
    for (int64_t p = 0; p < bucket.prefix_count; ++p) {
      KVTIER_ASSIGN_OR_RETURN(auto text,
                              make_exact_token_text(*codec_, text_rng_, "", bucket.prefix_tokens));
      auto json = std::make_shared<const std::string>(json_string_literal(text));
      made.push_back({std::make_shared<const std::string>(std::move(text)), std::move(json),
                      bucket.prefix_tokens});
    }
    const int64_t repeats = weights[i] / gcd;
    if (repeats * static_cast<int64_t>(made.size()) > 1'000'000) {
      return invalid_argument("--data prefix_buckets: weights {} need too many prefix copies",
                              bucket.bucket_weight);
    }
    for (int64_t r = 0; r < repeats; ++r)
      prefixes_.insert(prefixes_.end(), made.begin(), made.end());
  }
  return Status::ok();
}

Expected<ConversationSpec> SyntheticDataset::next() {
  ConversationSpec conversation;
  conversation.index = conversations_++;
  const int64_t prompt_tokens = prompt_sampler_.next();
  std::optional<int64_t> output_tokens;
  if (output_sampler_) output_tokens = output_sampler_->next();
  if (prefixes_.empty()) {
    static const auto kEmpty = std::make_shared<const std::string>();
    conversation.prefix = kEmpty;
  } else {
    const auto& p = prefixes_[static_cast<size_t>(
        prefix_rng_.uniform_int(0, static_cast<int64_t>(prefixes_.size()) - 1))];
    conversation.prefix = p.text;
    conversation.prefix_json = p.json;
    conversation.prefix_tokens = p.tokens;
  }
  for (int64_t turn = 0; turn < config_.turns; ++turn) {
    const std::string marker = fmt::format("{} {} ", iteration_, samples_++);
    KVTIER_ASSIGN_OR_RETURN(auto prompt,
                            make_exact_token_text(*codec_, text_rng_, marker, prompt_tokens));
    conversation.turns.push_back({std::move(prompt), prompt_tokens, output_tokens});
  }
  return conversation;
}

}  // namespace kvtier::bench
