#include "router/scheduler.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace kvtier::router {

Scheduler::Scheduler(std::string profile_name, std::vector<WeightedScorer> scorers,
                     std::unique_ptr<Picker> picker, uint64_t seed)
    : profile_name_(std::move(profile_name)),
      scorers_(std::move(scorers)),
      picker_(std::move(picker)),
      rng_(seed) {}

SchedulingResult Scheduler::schedule(const SchedulingRequest& request,
                                     std::span<const EndpointView> candidates) {
  SchedulingResult result;
  result.totals.assign(candidates.size(), 0.0);
  result.scores.reserve(scorers_.size());
  for (const auto& ws : scorers_) {
    std::vector<double> scores = ws.scorer->score(request, candidates);
    scores.resize(candidates.size(), 0.0);
    for (size_t i = 0; i < candidates.size(); ++i) {
      // A scorer that misbehaves (NaN, out of range) cannot outweigh the others.
      double s = std::isnan(scores[i]) ? 0.0 : std::clamp(scores[i], 0.0, 1.0);
      scores[i] = s;
      result.totals[i] += ws.weight * s;
    }
    result.scores.push_back(std::move(scores));
  }
  std::lock_guard lock(rng_mu_);
  result.order = picker_->order(result.totals, rng_);
  return result;
}

void Scheduler::routed(const SchedulingRequest& request, const EndpointView& chosen) {
  for (const auto& ws : scorers_) ws.scorer->on_routed(request, chosen);
}

void Scheduler::endpoint_down(size_t endpoint_index) {
  for (const auto& ws : scorers_) ws.scorer->on_endpoint_down(endpoint_index);
}

std::string Scheduler::describe(const SchedulingResult& result,
                                std::span<const EndpointView> candidates) const {
  std::string out;
  for (size_t rank = 0; rank < result.order.size(); ++rank) {
    const size_t i = result.order[rank];
    if (!out.empty()) out += "; ";
    fmt::format_to(std::back_inserter(out), "{} total {:.3f} [", candidates[i].id,
                   result.totals[i]);
    for (size_t s = 0; s < scorers_.size(); ++s) {
      fmt::format_to(std::back_inserter(out), "{}{} {:.3f}x{}", s ? ", " : "", scorers_[s].name,
                     result.scores[s][i], scorers_[s].weight);
    }
    out += "]";
  }
  return out;
}

}  // namespace kvtier::router
