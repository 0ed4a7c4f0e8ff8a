#pragma once
// prefix-cache-scorer (approximate): remembers, per endpoint, the block keys of the requests it
// routed there (an LRU of lruCapacityPerServer keys) and scores an endpoint by the share of the
// request's leading blocks it was sent before: matched / total blocks (0 when the prompt has no
// full block). Keys are the engine's (kv/block_hash.h) over the tokenized prompt.
#include <mutex>
#include <vector>

#include "router/block_lru.h"
#include "router/scorer.h"

namespace kvtier::router {

struct PrefixCacheScorerOptions {
  int32_t block_size = 16;               // blockSize (tokens per hashed block)
  size_t max_prefix_blocks = 256;        // maxPrefixBlocksToMatch
  size_t lru_capacity_per_server = 31250;  // lruCapacityPerServer
};

class PrefixCacheScorer : public Scorer {
 public:
  PrefixCacheScorer(PrefixCacheScorerOptions options, size_t num_endpoints);

  std::string_view type() const override { return "prefix-cache-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
  void on_routed(const SchedulingRequest& request, const EndpointView& chosen) override;
  // An endpoint that went down lost its cache: forget what was sent to it.
  void on_endpoint_down(size_t endpoint_index) override;
  void append_metrics(std::string& out, std::string_view scorer,
                      std::span<const std::string> endpoint_ids) const override;

  const PrefixCacheScorerOptions& options() const { return options_; }
  size_t tracked_blocks(size_t endpoint_index) const;

 private:
  PrefixCacheScorerOptions options_;
  mutable std::mutex mu_;          // guards lrus_; any connection's thread scores and records
  std::vector<BlockLru> lrus_;     // by endpoint index
};

}  // namespace kvtier::router
