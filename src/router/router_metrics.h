#pragma once
// The router's own /metrics: per-endpoint request outcomes, retries, 503s for want of an
// endpoint, scheduling and upstream latencies, the endpoints' last scraped state and what the
// scorers track. Thread-safe: every connection records, /metrics renders.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/histogram.h"
#include "router/endpoint_pool.h"
#include "router/scheduler.h"

namespace kvtier::router {

class RouterMetrics {
 public:
  explicit RouterMetrics(size_t num_endpoints);

  // endpoint: index, or -1 for answers the router gave itself (503, /health, /metrics).
  void request_done(int64_t endpoint, int status);
  void connect_failed(size_t endpoint);
  void no_endpoint() { no_endpoint_++; }
  void observe_scheduling(double seconds) { scheduling_.observe(seconds); }
  void observe_first_byte(double seconds) { first_byte_.observe(seconds); }
  void observe_duration(double seconds) { duration_.observe(seconds); }

  uint64_t requests(int64_t endpoint) const;  // all status codes
  uint64_t connect_failures(size_t endpoint) const;

  std::string render(const EndpointPool& pool, const Scheduler& scheduler) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int64_t, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::vector<uint64_t> connect_failures_;
  std::atomic<uint64_t> no_endpoint_{0};
  Histogram scheduling_;
  Histogram first_byte_;
  Histogram duration_;
};

}  // namespace kvtier::router
