#include "router/precise_prefix_cache_scorer.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kvtier::router {

PrecisePrefixCacheScorer::PrecisePrefixCacheScorer(PrecisePrefixCacheScorerOptions options,
                                                   std::vector<std::string> endpoint_ids)
    : options_(std::move(options)),
      endpoint_ids_(std::move(endpoint_ids)),
      warned_block_size_(new std::atomic<bool>[endpoint_ids_.size()]()),
      warned_hash_(new std::atomic<bool>[endpoint_ids_.size()]()),
      index_(endpoint_ids_.size(), options_.tiers, options_.max_keys_per_endpoint) {}

PrecisePrefixCacheScorer::~PrecisePrefixCacheScorer() { subscriber_.reset(); }

Expected<std::unique_ptr<PrecisePrefixCacheScorer>> PrecisePrefixCacheScorer::create(
    PrecisePrefixCacheScorerOptions options, std::vector<std::string> endpoint_ids) {
  if (!options.hasher) options.hasher = kv::BlockHasher::default_hasher();
  std::unique_ptr<PrecisePrefixCacheScorer> scorer(
      new PrecisePrefixCacheScorer(std::move(options), std::move(endpoint_ids)));
  if (!scorer->options_.sources.empty()) {
    auto* raw = scorer.get();
    KVTIER_ASSIGN_OR_RETURN(
        scorer->subscriber_,
        KvEventSubscriber::start(
            scorer->options_.sources, scorer->options_.topic_filter,
            [raw](std::string_view topic) { return raw->resolve_topic(topic); }, scorer->index_));
  }
  return scorer;
}

std::optional<size_t> PrecisePrefixCacheScorer::resolve_topic(std::string_view topic) const {
  // llm-d's convention is "kv@<pod ip>@<model>"; a bare endpoint id is accepted too.
  std::string_view who = topic;
  if (auto at = topic.find('@'); at != std::string_view::npos) {
    who = topic.substr(at + 1);
    if (auto end = who.find('@'); end != std::string_view::npos) who = who.substr(0, end);
  }
  for (size_t i = 0; i < endpoint_ids_.size(); ++i) {
    if (endpoint_ids_[i] == who) return i;
  }
  std::optional<size_t> by_host;
  for (size_t i = 0; i < endpoint_ids_.size(); ++i) {
    const std::string_view id = endpoint_ids_[i];
    if (id.substr(0, id.rfind(':')) == who) {
      if (by_host) return std::nullopt;  // several endpoints on that host: ambiguous
      by_host = i;
    }
  }
  return by_host;
}

void PrecisePrefixCacheScorer::check_block_size(const EndpointView& endpoint) {
  const auto size = endpoint.metrics.block_size;
  if (!size || *size == options_.block_size || endpoint.index >= endpoint_ids_.size()) return;
  if (warned_block_size_[endpoint.index].exchange(true)) return;
  spdlog::warn(
      "precise-prefix-cache-scorer: endpoint {} caches blocks of {} tokens but the scorer hashes "
      "blocks of {}: its KV events can never match (set tokenProcessorConfig.blockSize)",
      endpoint.id, *size, options_.block_size);
}

void PrecisePrefixCacheScorer::check_hash(const EndpointView& endpoint) {
  const EndpointMetrics& m = endpoint.metrics;
  if (!m.hash_algo || endpoint.index >= endpoint_ids_.size()) return;
  const kv::BlockHasher& ours = *options_.hasher;
  const std::string_view our_algo = kv::hash_algo_name(ours.algo());
  std::string why;
  if (*m.hash_algo != our_algo) {
    why = fmt::format("hashes blocks with '{}' but the scorer computes '{}' keys "
                      "(set tokenProcessorConfig.hashAlgorithm to the engines' "
                      "--prefix-caching-hash-algo)",
                      *m.hash_algo, our_algo);
  } else if (m.hash_fingerprint && *m.hash_fingerprint != ours.fingerprint()) {
    why = fmt::format("hashes blocks with '{}' from another hash seed than the scorer's "
                      "hashSeed '{}' (set it to the engines' PYTHONHASHSEED; an engine without "
                      "PYTHONHASHSEED draws a random one)",
                      our_algo, ours.seed().value_or(""));
  } else {
    return;
  }
  if (warned_hash_[endpoint.index].exchange(true)) return;
  spdlog::warn("precise-prefix-cache-scorer: endpoint {} {}: its KV events can never match",
               endpoint.id, why);
}

std::vector<double> PrecisePrefixCacheScorer::score(const SchedulingRequest& request,
                                                    std::span<const EndpointView> candidates) {
  for (const auto& c : candidates) {
    check_block_size(c);
    check_hash(c);
  }
  std::vector<double> scores(candidates.size(), 0.0);
  const auto keys =
      request.block_keys(*options_.hasher, options_.block_size, options_.max_prefix_blocks);
  if (keys.empty()) return scores;
  const auto now = KvBlockIndex::Clock::now();
  for (size_t i = 0; i < candidates.size(); ++i) {
    scores[i] = index_.weighted_prefix(candidates[i].index, keys, now);
  }
  if (options_.normalization == PrecisePrefixCacheScorerOptions::Normalization::kTotalBlocks) {
    for (double& s : scores) s /= double(keys.size());
    return scores;
  }
  double lo = 0, hi = 0;
  bool any = false;
  for (double s : scores) {
    if (s <= 0) continue;
    lo = any ? std::min(lo, s) : s;
    hi = any ? std::max(hi, s) : s;
    any = true;
  }
  for (double& s : scores) {
    if (s <= 0) continue;
    s = hi == lo ? 1.0 : (s - lo) / (hi - lo);
  }
  return scores;
}

void PrecisePrefixCacheScorer::on_routed(const SchedulingRequest& request,
                                         const EndpointView& chosen) {
  if (!options_.speculative_indexing) return;
  const auto keys =
      request.block_keys(*options_.hasher, options_.block_size, options_.max_prefix_blocks);
  if (keys.empty()) return;
  index_.add_speculative(chosen.index, keys,
                         KvBlockIndex::Clock::now() + options_.speculative_ttl);
}

}  // namespace kvtier::router

namespace kvtier::router {

void PrecisePrefixCacheScorer::append_metrics(std::string& out, std::string_view scorer,
                                              std::span<const std::string> endpoint_ids) const {
  out += "# HELP kvtier_router_kv_index_blocks Blocks the precise prefix scorer knows each "
         "endpoint holds, per tier.\n# TYPE kvtier_router_kv_index_blocks gauge\n";
  for (size_t i = 0; i < endpoint_ids.size(); ++i) {
    for (const auto& tier : index_.tiers()) {
      fmt::format_to(std::back_inserter(out),
                     "kvtier_router_kv_index_blocks{{scorer=\"{}\",endpoint=\"{}\",tier=\"{}\"}} {}\n",
                     scorer, endpoint_ids[i], tier.name, index_.count(i, tier.name));
    }
  }
  if (!subscriber_) return;
  const KvEventCounters& c = subscriber_->counters();
  out += "# HELP kvtier_router_kv_events_total KV event traffic the precise prefix scorer "
         "received.\n# TYPE kvtier_router_kv_events_total counter\n";
  for (auto [kind, value] : {std::pair{"batches", c.batches.load()},
                             {"events", c.events.load()},
                             {"decode_errors", c.decode_errors.load()},
                             {"unknown_topics", c.unknown_topics.load()},
                             {"sequence_gaps", c.sequence_gaps.load()},
                             {"publisher_restarts", c.restarts.load()}}) {
    fmt::format_to(std::back_inserter(out),
                   "kvtier_router_kv_events_total{{scorer=\"{}\",kind=\"{}\"}} {}\n", scorer,
                   kind, value);
  }
}

}  // namespace kvtier::router
