#include "bench/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvtier::bench {
namespace {

constexpr double kEpsilon = 1e-6;

// Sorted by time; exact duplicates summed, then events within `threshold` of a group's first
// event folded into it (the group keeps its first time).
WeightedValues merge_close_times(WeightedValues events, double threshold) {
  std::stable_sort(events.begin(), events.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  WeightedValues merged;
  merged.reserve(events.size());
  for (const auto& e : events) {
    if (!merged.empty() && merged.back().first == e.first) {
      merged.back().second += e.second;
    } else {
      merged.push_back(e);
    }
  }
  if (threshold <= 0.0) return merged;
  WeightedValues grouped;
  grouped.reserve(merged.size());
  for (size_t i = 0; i < merged.size();) {
    auto group = merged[i];
    size_t j = i + 1;
    while (j < merged.size() && merged[j].first <= group.first + threshold) {
      group.second += merged[j].second;
      ++j;
    }
    grouped.push_back(group);
    i = j;
  }
  return grouped;
}

double percentile_of(const std::vector<double>& values, const std::vector<double>& cdf, double p) {
  auto it = std::lower_bound(cdf.begin(), cdf.end(), p);
  size_t index = it == cdf.end() ? cdf.size() - 1 : static_cast<size_t>(it - cdf.begin());
  return values[index];
}

DistributionSummary empty_summary(int64_t count) {
  DistributionSummary d;
  d.count = count;
  return d;
}

}  // namespace

DistributionSummary summarize_values(WeightedValues pairs, std::optional<int64_t> count) {
  if (pairs.empty()) return empty_summary(count.value_or(0));
  double weight_sum = 0.0;
  for (const auto& [v, w] : pairs) weight_sum += w;
  const int64_t n = count.value_or(static_cast<int64_t>(std::llround(weight_sum)));

  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<double> values;
  std::vector<double> weights;
  for (const auto& [v, w] : pairs) {
    if (!values.empty() && values.back() == v) {
      weights.back() += w;
    } else {
      values.push_back(v);
      weights.push_back(w);
    }
  }
  std::vector<double> kept_values;
  std::vector<double> kept_weights;
  for (size_t i = 0; i < values.size(); ++i) {
    if (weights[i] > 0) {
      kept_values.push_back(values[i]);
      kept_weights.push_back(weights[i]);
    }
  }
  double total = std::accumulate(kept_weights.begin(), kept_weights.end(), 0.0);
  if (total <= kEpsilon) {
    // No usable weights: every distinct value counts the same.
    kept_values = values;
    kept_weights.assign(values.size(), 1.0);
    total = static_cast<double>(values.size());
  }
  if (kept_values.empty()) return empty_summary(n);

  std::vector<double> probs(kept_weights.size());
  std::vector<double> cdf(kept_weights.size());
  double running = 0.0;
  for (size_t i = 0; i < probs.size(); ++i) {
    probs[i] = kept_weights[i] / total;
    running += probs[i];
    cdf[i] = running;
  }

  DistributionSummary d;
  d.count = n;
  auto& p = d.percentiles;
  p.p001 = percentile_of(kept_values, cdf, 0.001);
  p.p01 = percentile_of(kept_values, cdf, 0.01);
  p.p05 = percentile_of(kept_values, cdf, 0.05);
  p.p10 = percentile_of(kept_values, cdf, 0.1);
  p.p25 = percentile_of(kept_values, cdf, 0.25);
  p.p50 = percentile_of(kept_values, cdf, 0.5);
  p.p75 = percentile_of(kept_values, cdf, 0.75);
  p.p90 = percentile_of(kept_values, cdf, 0.9);
  p.p95 = percentile_of(kept_values, cdf, 0.95);
  p.p99 = percentile_of(kept_values, cdf, 0.99);
  p.p999 = percentile_of(kept_values, cdf, 0.999);
  d.median = p.p50;
  size_t mode_index = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    d.mean += kept_values[i] * probs[i];
    if (probs[i] > probs[mode_index]) mode_index = i;
  }
  d.mode = kept_values[mode_index];
  for (size_t i = 0; i < probs.size(); ++i) {
    d.variance += (kept_values[i] - d.mean) * (kept_values[i] - d.mean) * probs[i];
  }
  d.std_dev = std::sqrt(d.variance);
  d.min = kept_values.front();
  d.max = kept_values.back();
  d.total_sum = d.mean * static_cast<double>(n);
  return d;
}

DistributionSummary summarize_values(const std::vector<double>& values) {
  WeightedValues pairs;
  pairs.reserve(values.size());
  for (double v : values) pairs.emplace_back(v, 1.0);
  return summarize_values(std::move(pairs));
}

DistributionSummary rate_distribution(WeightedValues events, std::optional<double> start_time,
                                      std::optional<double> end_time, double threshold) {
  if (start_time) {
    std::erase_if(events, [&](const auto& e) { return e.first < *start_time; });
    events.insert(events.begin(), {*start_time, 0.0});
  }
  if (end_time) {
    std::erase_if(events, [&](const auto& e) { return e.first > *end_time; });
    events.emplace_back(*end_time, 0.0);
  }
  events = merge_close_times(std::move(events), threshold);
  if (events.size() <= 1) return empty_summary(static_cast<int64_t>(events.size()));

  const size_t n = events.size();
  std::vector<double> midpoints(n - 1);
  for (size_t i = 0; i + 1 < n; ++i) midpoints[i] = (events[i].first + events[i + 1].first) / 2;
  std::vector<double> durations(n);
  durations[0] = midpoints[0] - events[0].first;
  for (size_t i = 1; i + 1 < n; ++i) durations[i] = midpoints[i] - midpoints[i - 1];
  durations[n - 1] = std::max(events[n - 1].first - midpoints[n - 2], kEpsilon);

  WeightedValues rates;
  rates.reserve(n);
  double occurrences = 0.0;
  for (size_t i = 0; i < n; ++i) {
    rates.emplace_back(events[i].second / durations[i], durations[i]);
    occurrences += events[i].second;
  }
  return summarize_values(std::move(rates), std::llround(occurrences));
}

DistributionSummary concurrency_distribution(std::vector<Interval> intervals,
                                             std::optional<double> start_time,
                                             std::optional<double> end_time, double threshold) {
  if (start_time) std::erase_if(intervals, [&](const Interval& i) { return i.end < *start_time; });
  if (end_time) std::erase_if(intervals, [&](const Interval& i) { return i.start > *end_time; });
  const auto count = static_cast<int64_t>(intervals.size());

  WeightedValues changes;
  changes.reserve(intervals.size() * 2);
  for (const auto& i : intervals) {
    changes.emplace_back(i.start, i.weight);
    changes.emplace_back(i.end, -i.weight);
  }
  changes = merge_close_times(std::move(changes), threshold);

  if (start_time && !changes.empty()) {
    auto first_kept = std::lower_bound(changes.begin(), changes.end(), *start_time,
                                       [](const auto& e, double t) { return e.first < t; });
    double prior = 0.0;
    for (auto it = changes.begin(); it != first_kept; ++it) prior += it->second;
    WeightedValues rest(first_kept, changes.end());
    changes.assign(1, {*start_time, prior});
    changes.insert(changes.end(), rest.begin(), rest.end());
  }
  if (end_time && !changes.empty()) {
    auto past_end = std::upper_bound(changes.begin(), changes.end(), *end_time,
                                     [](double t, const auto& e) { return t < e.first; });
    changes.erase(past_end, changes.end());
    changes.emplace_back(*end_time, 0.0);
  }

  std::vector<double> levels(changes.size());
  double running = 0.0;
  for (size_t i = 0; i < changes.size(); ++i) {
    running += changes[i].second;
    levels[i] = std::max(running, 0.0);
  }
  if (levels.size() <= 1) {
    if (count == 0) return empty_summary(0);
    return summarize_values(WeightedValues{{levels.empty() ? 0.0 : levels[0], 1.0}});
  }
  WeightedValues held;
  bool any_duration = false;
  for (size_t i = 0; i + 1 < changes.size(); ++i) {
    const double duration = std::max(changes[i + 1].first - changes[i].first, 0.0);
    any_duration = any_duration || duration > 0;
    held.emplace_back(levels[i], duration);
  }
  if (!any_duration) return empty_summary(count);
  return summarize_values(std::move(held), count);
}

nlohmann::json to_json(const Percentiles& p) {
  return {{"p001", p.p001}, {"p01", p.p01}, {"p05", p.p05},  {"p10", p.p10},
          {"p25", p.p25},   {"p50", p.p50}, {"p75", p.p75},  {"p90", p.p90},
          {"p95", p.p95},   {"p99", p.p99}, {"p999", p.p999}};
}

nlohmann::json to_json(const DistributionSummary& d) {
  return {{"mean", d.mean},
          {"median", d.median},
          {"mode", d.mode},
          {"variance", d.variance},
          {"std_dev", d.std_dev},
          {"min", d.min},
          {"max", d.max},
          {"count", d.count},
          {"total_sum", d.total_sum},
          {"percentiles", to_json(d.percentiles)},
          {"pdf", nullptr}};
}

nlohmann::json to_json(const StatusDistribution& d) {
  return {{"successful", to_json(d.successful)},
          {"incomplete", to_json(d.incomplete)},
          {"errored", to_json(d.errored)},
          {"total", to_json(d.total)}};
}

}  // namespace kvtier::bench
