#pragma once
// The scorers that read only the endpoints' reported load (llm-d / Gateway API Inference
// Extension semantics):
//   queue-scorer:                (maxQ - q) / (maxQ - minQ) over waiting requests; 1 for all when equal
//   kv-cache-utilization-scorer: 1 - kv cache usage
//   load-aware-scorer:           0.5 with an empty queue, else 0.5 * (1 - min(q, T) / T)
#include "router/scorer.h"

namespace kvtier::router {

class QueueScorer : public Scorer {
 public:
  std::string_view type() const override { return "queue-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
};

class KvCacheUtilizationScorer : public Scorer {
 public:
  std::string_view type() const override { return "kv-cache-utilization-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
};

class LoadAwareScorer : public Scorer {
 public:
  static constexpr int64_t kDefaultThreshold = 128;
  explicit LoadAwareScorer(int64_t threshold = kDefaultThreshold) : threshold_(threshold) {}
  std::string_view type() const override { return "load-aware-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;

 private:
  double threshold_;
};

}  // namespace kvtier::router
