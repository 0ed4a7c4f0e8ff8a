#pragma once
// active-request-scorer (llm-d-inference-scheduler): counts the requests the router has in
// flight to each endpoint, from the moment one is sent until its response ends, and scores an
// endpoint (max - n) / max, where max is the largest count over all endpoints (1 when n is 0).
// A request still counted after requestTimeout is dropped, as llm-d's TTL cache drops it, so a
// lost completion cannot skew the counts forever.
#include <chrono>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "router/scorer.h"

namespace kvtier::router {

class ActiveRequestScorer : public Scorer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kDefaultRequestTimeout{120'000};

  // `now` is injectable for tests.
  ActiveRequestScorer(size_t num_endpoints, std::chrono::milliseconds request_timeout,
                      std::function<Clock::time_point()> now = Clock::now);

  std::string_view type() const override { return "active-request-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
  void on_routed(const SchedulingRequest& request, const EndpointView& chosen) override;
  void on_finished(const SchedulingRequest& request, const EndpointView* chosen) override;

  std::chrono::milliseconds request_timeout() const { return request_timeout_; }
  // Requests counted on the endpoint now (after dropping timed-out ones).
  size_t active(size_t endpoint_index);

 private:
  struct Entry {
    size_t endpoint;
    Clock::time_point started;
  };
  void expire_locked(Clock::time_point now);

  const std::chrono::milliseconds request_timeout_;
  const std::function<Clock::time_point()> now_;
  std::mutex mu_;  // guards everything below; connections on any I/O thread
  std::unordered_map<uint64_t, Entry> requests_;  // by SchedulingRequest::id()
  std::vector<size_t> counts_;                    // by endpoint index
  Clock::time_point oldest_{Clock::time_point::max()};  // no entry started before this
};

}  // namespace kvtier::router
