#include "router/active_request_scorer.h"

#include <algorithm>

namespace kvtier::router {

ActiveRequestScorer::ActiveRequestScorer(size_t num_endpoints,
                                         std::chrono::milliseconds request_timeout,
                                         std::function<Clock::time_point()> now)
    : request_timeout_(request_timeout), now_(std::move(now)), counts_(num_endpoints, 0) {}

void ActiveRequestScorer::expire_locked(Clock::time_point now) {
  // A sweep only when the oldest entry may have timed out: scoring stays O(endpoints).
  if (requests_.empty() || now - oldest_ < request_timeout_) return;
  oldest_ = Clock::time_point::max();
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (now - it->second.started >= request_timeout_) {
      --counts_[it->second.endpoint];
      it = requests_.erase(it);
    } else {
      oldest_ = std::min(oldest_, it->second.started);
      ++it;
    }
  }
}

std::vector<double> ActiveRequestScorer::score(const SchedulingRequest&,
                                               std::span<const EndpointView> candidates) {
  std::lock_guard lock(mu_);
  expire_locked(now_());
  // As llm-d: the maximum is over every endpoint with requests, not only the candidates.
  const size_t max_count = counts_.empty() ? 0 : *std::max_element(counts_.begin(), counts_.end());
  std::vector<double> scores(candidates.size(), 1.0);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const size_t index = candidates[i].index;
    const size_t n = index < counts_.size() ? counts_[index] : 0;
    if (n > 0 && max_count > 0) scores[i] = double(max_count - n) / double(max_count);
  }
  return scores;
}

void ActiveRequestScorer::on_routed(const SchedulingRequest& request, const EndpointView& chosen) {
  if (chosen.index >= counts_.size()) return;
  std::lock_guard lock(mu_);
  const auto now = now_();
  auto [it, fresh] = requests_.try_emplace(request.id(), Entry{chosen.index, now});
  if (!fresh) --counts_[it->second.endpoint];  // the same request routed again: move it
  it->second = Entry{chosen.index, now};
  ++counts_[chosen.index];
  oldest_ = std::min(oldest_, now);
}

void ActiveRequestScorer::on_finished(const SchedulingRequest& request, const EndpointView*) {
  std::lock_guard lock(mu_);
  auto it = requests_.find(request.id());
  if (it == requests_.end()) return;  // never routed, or already timed out
  --counts_[it->second.endpoint];
  requests_.erase(it);
}

size_t ActiveRequestScorer::active(size_t endpoint_index) {
  std::lock_guard lock(mu_);
  expire_locked(now_());
  return endpoint_index < counts_.size() ? counts_[endpoint_index] : 0;
}

}  // namespace kvtier::router
