#include "router/metric_scorers.h"

#include <algorithm>

namespace kvtier::router {

std::vector<double> QueueScorer::score(const SchedulingRequest&,
                                       std::span<const EndpointView> candidates) {
  std::vector<double> scores(candidates.size(), 1.0);
  if (candidates.empty()) return scores;
  double min_q = candidates[0].metrics.waiting, max_q = min_q;
  for (const auto& c : candidates) {
    min_q = std::min(min_q, c.metrics.waiting);
    max_q = std::max(max_q, c.metrics.waiting);
  }
  if (max_q == min_q) return scores;
  for (size_t i = 0; i < candidates.size(); ++i) {
    scores[i] = (max_q - candidates[i].metrics.waiting) / (max_q - min_q);
  }
  return scores;
}

std::vector<double> KvCacheUtilizationScorer::score(const SchedulingRequest&,
                                                    std::span<const EndpointView> candidates) {
  std::vector<double> scores(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    scores[i] = 1.0 - std::clamp(candidates[i].metrics.kv_usage, 0.0, 1.0);
  }
  return scores;
}

std::vector<double> LoadAwareScorer::score(const SchedulingRequest&,
                                           std::span<const EndpointView> candidates) {
  std::vector<double> scores(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double waiting = std::max(0.0, candidates[i].metrics.waiting);
    scores[i] = waiting == 0 ? 0.5 : 0.5 * (1.0 - std::min(waiting, threshold_) / threshold_);
  }
  return scores;
}

}  // namespace kvtier::router
