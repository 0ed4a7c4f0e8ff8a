#include "router/endpoint_pool.h"

#include <spdlog/spdlog.h>

namespace kvtier::router {

EndpointPool::EndpointPool(std::vector<EndpointAddress> endpoints,
                           std::chrono::milliseconds stale_after)
    : addresses_(std::move(endpoints)), stale_after_(stale_after) {
  status_.resize(addresses_.size());
  for (size_t i = 0; i < addresses_.size(); ++i) {
    status_[i].address = addresses_[i];
    status_[i].last_error = "not scraped yet";
  }
}

bool EndpointPool::usable_locked(size_t i, Clock::time_point now) const {
  const auto& s = status_[i];
  return s.healthy && s.metrics_at && now - *s.metrics_at <= stale_after_;
}

std::vector<EndpointView> EndpointPool::usable(Clock::time_point now) const {
  std::vector<EndpointView> out;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < status_.size(); ++i) {
    if (!usable_locked(i, now)) continue;
    out.push_back({i, addresses_[i].id(), status_[i].metrics});
  }
  return out;
}

bool EndpointPool::is_usable(size_t i, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  return usable_locked(i, now);
}

void EndpointPool::record_metrics(size_t i, const EndpointMetrics& metrics, Clock::time_point at) {
  std::lock_guard lock(mu_);
  auto& s = status_[i];
  s.metrics = metrics;
  s.metrics_at = at;
  s.scrapes_ok++;
}

void EndpointPool::record_scrape_failure(size_t i, std::string why) {
  std::lock_guard lock(mu_);
  auto& s = status_[i];
  s.scrapes_failed++;
  if (s.last_error != why) spdlog::debug("endpoint {}: {}", addresses_[i].id(), why);
  s.last_error = std::move(why);
}

void EndpointPool::record_health(size_t i, bool healthy, std::string why) {
  std::lock_guard lock(mu_);
  auto& s = status_[i];
  if (healthy && !s.healthy) spdlog::info("endpoint {} is healthy", addresses_[i].id());
  if (!healthy && s.healthy) spdlog::warn("endpoint {} is unhealthy: {}", addresses_[i].id(), why);
  s.healthy = healthy;
  if (!healthy) s.last_error = std::move(why);
}

void EndpointPool::mark_down(size_t i, std::string why, bool lost_cache) {
  bool was_up = false;
  {
    std::lock_guard lock(mu_);
    auto& s = status_[i];
    was_up = s.healthy;
    if (was_up) spdlog::warn("endpoint {} is down: {}", addresses_[i].id(), why);
    s.healthy = false;
    s.metrics_at.reset();
    s.last_error = std::move(why);
  }
  if (was_up && lost_cache && on_lost_cache_) on_lost_cache_(i);
}

void EndpointPool::request_started(size_t i) {
  std::lock_guard lock(mu_);
  status_[i].in_flight++;
}

void EndpointPool::request_finished(size_t i) {
  std::lock_guard lock(mu_);
  status_[i].in_flight--;
}

std::vector<EndpointStatus> EndpointPool::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

}  // namespace kvtier::router
