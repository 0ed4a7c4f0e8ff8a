#pragma once
// llm-d's scheduling plugins: a scorer rates every candidate endpoint for a request; a picker
// orders the candidates by the weighted sum of those ratings. Scorers are shared by all
// connections: score() and on_routed() must be thread-safe.
#include <cstddef>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/endpoint.h"
#include "router/scheduling_request.h"

namespace kvtier::router {

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string_view type() const = 0;
  // One score per candidate, meant to lie in [0, 1] (the scheduler clamps).
  virtual std::vector<double> score(const SchedulingRequest& request,
                                    std::span<const EndpointView> candidates) = 0;
  // The request was sent to `chosen` (after any retries): scorers that learn from routing
  // decisions record it here.
  virtual void on_routed(const SchedulingRequest& request, const EndpointView& chosen) {}
  // The endpoint stopped answering (killed, restarted): whatever cache it had is gone.
  virtual void on_endpoint_down(size_t endpoint_index) {}
  // Prometheus lines about the scorer's own state, labelled with `scorer` (its plugin name).
  virtual void append_metrics(std::string& out, std::string_view scorer,
                              std::span<const std::string> endpoint_ids) const {}
};

class Picker {
 public:
  virtual ~Picker() = default;
  virtual std::string_view type() const = 0;
  // Candidate indices, best first: the first is the pick, the rest are the retry order.
  virtual std::vector<size_t> order(std::span<const double> total_scores,
                                    std::mt19937_64& rng) const = 0;
};

}  // namespace kvtier::router
