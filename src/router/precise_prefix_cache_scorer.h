#pragma once
// precise-prefix-cache-scorer: follows the engines' KV events (router/kv_event_subscriber.h) into
// an index of which blocks each endpoint holds on which tier, and scores an endpoint by the
// weighted length of the request's leading blocks it holds (GPU 1.0, CPU 0.8 by default).
// Normalization "totalBlocks" (the default) divides by the request's block count, so a full GPU
// hit scores 1, a full CPU hit 0.8 and a miss 0; "minMax" is llm-d's (score - min) / (max - min)
// over endpoints holding at least the first block, others 0.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "kv/block_hasher.h"
#include "router/kv_block_index.h"
#include "router/kv_event_subscriber.h"
#include "router/scorer.h"

namespace kvtier::router {

struct PrecisePrefixCacheScorerOptions {
  enum class Normalization { kTotalBlocks, kMinMax };

  int32_t block_size = 16;            // tokenProcessorConfig.blockSize: must equal the engines'
  // tokenProcessorConfig.hashAlgorithm and hashSeed: the engines' --prefix-caching-hash-algo and
  // PYTHONHASHSEED. Null: xxh3_64, kvtier's default.
  std::shared_ptr<const kv::BlockHasher> hasher;
  size_t max_prefix_blocks = 256;     // maxPrefixBlocksToMatch
  std::vector<TierWeight> tiers = {{"gpu", 1.0}, {"cpu", 0.8}};  // kvCacheBackendConfigs
  size_t max_keys_per_endpoint = 100'000'000;
  Normalization normalization = Normalization::kTotalBlocks;
  bool speculative_indexing = false;
  std::chrono::milliseconds speculative_ttl{30'000};
  std::vector<KvEventSource> sources;  // empty: the index is fed through index() only (tests)
  std::string topic_filter;
};

class PrecisePrefixCacheScorer : public Scorer {
 public:
  // `endpoint_ids` ("host:port") resolve topics in global-socket mode ("kv@<host>@<model>").
  static Expected<std::unique_ptr<PrecisePrefixCacheScorer>> create(
      PrecisePrefixCacheScorerOptions options, std::vector<std::string> endpoint_ids);
  ~PrecisePrefixCacheScorer() override;

  std::string_view type() const override { return "precise-prefix-cache-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
  void on_routed(const SchedulingRequest& request, const EndpointView& chosen) override;
  void append_metrics(std::string& out, std::string_view scorer,
                      std::span<const std::string> endpoint_ids) const override;

  KvBlockIndex& index() { return index_; }
  const PrecisePrefixCacheScorerOptions& options() const { return options_; }
  // Null when the scorer follows no event stream.
  const KvEventSubscriber* subscriber() const { return subscriber_.get(); }

 private:
  PrecisePrefixCacheScorer(PrecisePrefixCacheScorerOptions options,
                           std::vector<std::string> endpoint_ids);
  std::optional<size_t> resolve_topic(std::string_view topic) const;

  void check_block_size(const EndpointView& endpoint);
  void check_hash(const EndpointView& endpoint);

  PrecisePrefixCacheScorerOptions options_;
  std::vector<std::string> endpoint_ids_;
  // Per endpoint: warned that its block size differs from the scorer's (a config mistake that
  // makes every lookup miss). Set from any connection's thread.
  std::unique_ptr<std::atomic<bool>[]> warned_block_size_;
  // Per endpoint: warned that its hash algorithm or seed (vllm:cache_config_info) differs.
  std::unique_ptr<std::atomic<bool>[]> warned_hash_;
  KvBlockIndex index_;
  std::unique_ptr<KvEventSubscriber> subscriber_;  // declared last: stops before index_ goes
};

}  // namespace kvtier::router
