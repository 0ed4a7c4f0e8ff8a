#pragma once
// llm-d's scheduling plugins: a filter drops candidates a profile must not use, a scorer rates
// every remaining candidate for a request, a picker orders them by the weighted sum of those
// ratings. Plugins are shared by all connections: every method must be thread-safe.
#include <cstddef>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/endpoint.h"
#include "router/scheduling_request.h"

namespace kvtier::router {

// What the scorers that already ran in this scheduling cycle computed, by plugin name (llm-d's
// CycleState, reduced to what the router's scorers share). Lives for one schedule() call.
struct CycleState {
  std::vector<std::pair<std::string_view, const std::vector<double>*>> scores;

  // The clamped scores of the plugin named `plugin`, null when it has not run in this cycle.
  const std::vector<double>* find(std::string_view plugin) const {
    for (const auto& [name, s] : scores) {
      if (name == plugin) return s;
    }
    return nullptr;
  }
};

// Response headers a plugin adds for the client (name, value); several may share a name.
using ResponseHeaders = std::vector<std::pair<std::string, std::string>>;

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string_view type() const = 0;
  // One score per candidate, meant to lie in [0, 1] (the scheduler clamps).
  virtual std::vector<double> score(const SchedulingRequest& request,
                                    std::span<const EndpointView> candidates) = 0;
  // The same, for scorers that read what earlier scorers of the cycle computed.
  virtual std::vector<double> score_in_cycle(const SchedulingRequest& request,
                                             std::span<const EndpointView> candidates,
                                             const CycleState& cycle) {
    return score(request, candidates);
  }
  // The request was sent to `chosen` (after any retries): scorers that learn from routing
  // decisions record it here.
  virtual void on_routed(const SchedulingRequest& request, const EndpointView& chosen) {}
  // The request is over: its response ended, failed or was abandoned by the client. `chosen` is
  // null when no endpoint ever took it. Called once per scheduled request.
  virtual void on_finished(const SchedulingRequest& request, const EndpointView* chosen) {}
  // Headers for the response `chosen` sends back to the client.
  virtual void response_headers(const SchedulingRequest& request, const EndpointView& chosen,
                                ResponseHeaders& out) const {}
  // The endpoint stopped answering (killed, restarted): whatever cache it had is gone.
  virtual void on_endpoint_down(size_t endpoint_index) {}
  // Prometheus lines about the scorer's own state, labelled with `scorer` (its plugin name).
  virtual void append_metrics(std::string& out, std::string_view scorer,
                              std::span<const std::string> endpoint_ids) const {}
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view type() const = 0;
  // Whether each candidate stays in the profile.
  virtual std::vector<bool> keep(const SchedulingRequest& request,
                                 std::span<const EndpointView> candidates) const = 0;
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
