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

void Scheduler::add_filter(std::string name, std::unique_ptr<Filter> filter) {
  filters_.push_back({std::move(name), std::move(filter)});
}

SchedulingResult Scheduler::schedule(const SchedulingRequest& request,
                                     std::span<const EndpointView> candidates) {
  SchedulingResult result;
  result.totals.assign(candidates.size(), 0.0);
  // Positions in `candidates` that every filter kept.
  std::vector<size_t> kept(candidates.size());
  for (size_t i = 0; i < kept.size(); ++i) kept[i] = i;
  std::vector<EndpointView> views;
  std::span<const EndpointView> scored = candidates;
  if (!filters_.empty()) {
    views.assign(candidates.begin(), candidates.end());
    for (const auto& f : filters_) {
      const std::vector<bool> keep = f.filter->keep(request, views);
      std::vector<size_t> next_kept;
      std::vector<EndpointView> next_views;
      for (size_t i = 0; i < views.size(); ++i) {
        if (i < keep.size() && keep[i]) {
          next_kept.push_back(kept[i]);
          next_views.push_back(std::move(views[i]));
        }
      }
      if (next_views.empty()) {
        result.filtered_out =
            fmt::format("scheduling profile '{}': filter '{}' ({}) left none of {} endpoint(s)",
                        profile_name_, f.name, f.filter->type(), views.size());
        result.scores.assign(scorers_.size(), std::vector<double>(candidates.size(), 0.0));
        return result;
      }
      kept = std::move(next_kept);
      views = std::move(next_views);
    }
    scored = views;
  }
  result.scores.reserve(scorers_.size());
  CycleState cycle;
  std::vector<std::vector<double>> raw(scorers_.size());
  for (size_t s = 0; s < scorers_.size(); ++s) {
    const auto& ws = scorers_[s];
    raw[s] = ws.scorer->score_in_cycle(request, scored, cycle);
    raw[s].resize(scored.size(), 0.0);
    for (double& v : raw[s]) {
      // A scorer that misbehaves (NaN, out of range) cannot outweigh the others.
      v = std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 1.0);
    }
    cycle.scores.emplace_back(ws.name, &raw[s]);
    std::vector<double> scores(candidates.size(), 0.0);
    for (size_t j = 0; j < scored.size(); ++j) {
      scores[kept[j]] = raw[s][j];
      result.totals[kept[j]] += ws.weight * raw[s][j];
    }
    result.scores.push_back(std::move(scores));
  }
  std::vector<double> kept_totals(kept.size());
  for (size_t j = 0; j < kept.size(); ++j) kept_totals[j] = result.totals[kept[j]];
  std::vector<size_t> order;
  {
    std::lock_guard lock(rng_mu_);
    order = picker_->order(kept_totals, rng_);
  }
  result.order.reserve(order.size());
  for (size_t j : order) result.order.push_back(kept[j]);
  return result;
}

void Scheduler::routed(const SchedulingRequest& request, const EndpointView& chosen) {
  for (const auto& ws : scorers_) ws.scorer->on_routed(request, chosen);
}

void Scheduler::finished(const SchedulingRequest& request, const EndpointView* chosen) {
  for (const auto& ws : scorers_) ws.scorer->on_finished(request, chosen);
}

ResponseHeaders Scheduler::response_headers(const SchedulingRequest& request,
                                            const EndpointView& chosen) const {
  ResponseHeaders out;
  for (const auto& ws : scorers_) ws.scorer->response_headers(request, chosen, out);
  return out;
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
