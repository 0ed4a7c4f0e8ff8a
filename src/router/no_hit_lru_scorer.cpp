#include "router/no_hit_lru_scorer.h"

#include <algorithm>

namespace kvtier::router {

NoHitLruScorer::NoHitLruScorer(std::string prefix_name, std::shared_ptr<Scorer> prefix,
                               size_t lru_size)
    : prefix_name_(std::move(prefix_name)),
      prefix_(std::move(prefix)),
      lru_size_(std::max<size_t>(1, lru_size)) {}

std::vector<double> NoHitLruScorer::score(const SchedulingRequest& request,
                                          std::span<const EndpointView> candidates) {
  return score_in_cycle(request, candidates, CycleState{});
}

std::vector<double> NoHitLruScorer::score_in_cycle(const SchedulingRequest& request,
                                                   std::span<const EndpointView> candidates,
                                                   const CycleState& cycle) {
  std::vector<double> prefix_scores;
  if (const std::vector<double>* ran = cycle.find(prefix_name_)) {
    prefix_scores = *ran;
  } else if (prefix_) {
    prefix_scores = prefix_->score(request, candidates);
  }
  const bool cold = std::none_of(prefix_scores.begin(), prefix_scores.end(),
                                 [](double s) { return s > 0; });
  std::lock_guard lock(mu_);
  cold_[request.id()] = cold;
  if (!cold) return std::vector<double>(candidates.size(), 0.5);
  const size_t n = candidates.size();
  if (n == 1) return {1.0};
  std::vector<double> scores(n, 0.0);
  std::vector<size_t> used;  // candidate positions that took cold requests
  size_t never_used = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::find(lru_.begin(), lru_.end(), candidates[i].index) != lru_.end()) {
      used.push_back(i);
    } else {
      scores[i] = 1.0 - double(never_used++) / double(n - 1);
    }
  }
  for (size_t i : used) {
    // Position among every endpoint in the LRU, oldest 0, as llm-d ranks them.
    const size_t position = size_t(
        std::distance(lru_.begin(), std::find(lru_.begin(), lru_.end(), candidates[i].index)));
    scores[i] = std::max(0.0, 1.0 - double(never_used + position) / double(n - 1));
  }
  return scores;
}

void NoHitLruScorer::on_routed(const SchedulingRequest& request, const EndpointView& chosen) {
  std::lock_guard lock(mu_);
  auto it = cold_.find(request.id());
  if (it == cold_.end()) return;
  const bool cold = it->second;
  cold_.erase(it);
  if (!cold) return;
  lru_.remove(chosen.index);
  lru_.push_back(chosen.index);
  if (lru_.size() > lru_size_) lru_.pop_front();
}

void NoHitLruScorer::on_finished(const SchedulingRequest& request, const EndpointView*) {
  std::lock_guard lock(mu_);
  cold_.erase(request.id());
}

std::vector<size_t> NoHitLruScorer::lru_order() const {
  std::lock_guard lock(mu_);
  return {lru_.begin(), lru_.end()};
}

}  // namespace kvtier::router
