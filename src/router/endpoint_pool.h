#pragma once
// The router's endpoints and what it last learned about each: scraped metrics, health, and
// failures seen while proxying. An endpoint is usable while it is healthy and its metrics are
// fresh (scraped within stale_after). Scrapers and connections on any thread update and read it.
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "router/endpoint.h"

namespace kvtier::router {

struct EndpointStatus {
  EndpointAddress address;
  bool healthy = false;                    // last /health answered 200 and nothing failed since
  std::optional<std::chrono::steady_clock::time_point> metrics_at;  // last good scrape
  EndpointMetrics metrics;
  std::string last_error;                  // why it is not usable, for logs and /metrics
  uint64_t scrapes_ok = 0;
  uint64_t scrapes_failed = 0;
  int64_t in_flight = 0;                   // requests the router is proxying to it now
};

class EndpointPool {
 public:
  using Clock = std::chrono::steady_clock;

  EndpointPool(std::vector<EndpointAddress> endpoints, std::chrono::milliseconds stale_after);

  size_t size() const { return addresses_.size(); }
  const EndpointAddress& address(size_t i) const { return addresses_[i]; }

  // Candidates for a request: usable endpoints with their latest metrics.
  std::vector<EndpointView> usable(Clock::time_point now = Clock::now()) const;
  bool is_usable(size_t i, Clock::time_point now = Clock::now()) const;

  void record_metrics(size_t i, const EndpointMetrics& metrics, Clock::time_point at);
  void record_scrape_failure(size_t i, std::string why);
  void record_health(size_t i, bool healthy, std::string why = {});
  // The endpoint refused a connection or went away: excluded until a health check passes.
  // `lost_cache` tells the scorers its prefix cache is gone (the process died).
  void mark_down(size_t i, std::string why, bool lost_cache);

  void request_started(size_t i);
  void request_finished(size_t i);

  std::vector<EndpointStatus> status() const;
  // Called (outside the lock) when an endpoint's process is gone: set once before use.
  void set_on_lost_cache(std::function<void(size_t)> fn) { on_lost_cache_ = std::move(fn); }

 private:
  bool usable_locked(size_t i, Clock::time_point now) const;

  std::vector<EndpointAddress> addresses_;
  std::chrono::milliseconds stale_after_;
  mutable std::mutex mu_;
  std::vector<EndpointStatus> status_;
  std::function<void(size_t)> on_lost_cache_;
};

}  // namespace kvtier::router
