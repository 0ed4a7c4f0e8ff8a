#pragma once
// One scheduling profile: its filters drop candidates, every scorer rates each remaining one,
// ratings are clamped to [0, 1] and summed with the profile's weights, and the picker orders them
// (first = target, the rest = where to retry). Thread-safe: connections schedule concurrently.
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "router/scorer.h"

namespace kvtier::router {

struct WeightedScorer {
  std::string name;  // the plugin's name in the config
  double weight = 1.0;
  std::shared_ptr<Scorer> scorer;
};

struct NamedFilter {
  std::string name;  // the plugin's name in the config
  std::unique_ptr<Filter> filter;
};

struct SchedulingResult {
  std::vector<size_t> order;                // candidate indices, best first; filtered ones absent
  std::vector<double> totals;               // weighted sum per candidate
  std::vector<std::vector<double>> scores;  // [scorer][candidate], clamped
  std::string filtered_out;                 // why order is empty when filters left no candidate
};

class Scheduler {
 public:
  Scheduler(std::string profile_name, std::vector<WeightedScorer> scorers,
            std::unique_ptr<Picker> picker, uint64_t seed = std::random_device{}());

  // Filters run in the order added, before any scorer. Only while building the scheduler.
  void add_filter(std::string name, std::unique_ptr<Filter> filter);

  SchedulingResult schedule(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates);
  // The request went to `chosen` (after retries, if any).
  void routed(const SchedulingRequest& request, const EndpointView& chosen);
  // The request is over (`chosen` null when no endpoint took it): once per schedule().
  void finished(const SchedulingRequest& request, const EndpointView* chosen);
  // Headers the scorers add to `chosen`'s response.
  ResponseHeaders response_headers(const SchedulingRequest& request,
                                   const EndpointView& chosen) const;
  void endpoint_down(size_t endpoint_index);

  // "ep 127.0.0.1:8001 total 4.20 [queue-scorer 1.00 ...]; ..." for the debug log.
  std::string describe(const SchedulingResult& result,
                       std::span<const EndpointView> candidates) const;

  const std::string& profile_name() const { return profile_name_; }
  const std::vector<WeightedScorer>& scorers() const { return scorers_; }
  const std::vector<NamedFilter>& filters() const { return filters_; }
  const Picker& picker() const { return *picker_; }

 private:
  std::string profile_name_;
  std::vector<NamedFilter> filters_;
  std::vector<WeightedScorer> scorers_;
  std::unique_ptr<Picker> picker_;
  std::mutex rng_mu_;  // the picker's randomness, shared by all connections
  std::mt19937_64 rng_;
};

}  // namespace kvtier::router
