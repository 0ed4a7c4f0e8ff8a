#include "router/router_metrics.h"

#include <fmt/format.h>

namespace kvtier::router {
namespace {

std::vector<double> latency_bounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0, 30.0,  60.0, 300.0};
}

void append_histogram(std::string& out, const char* name, const char* help,
                      const HistogramSnapshot& h) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds[i],
                   cumulative);
  }
  cumulative += h.counts.back();
  fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n",
                 name, cumulative, name, h.sum, name, h.count);
}

}  // namespace

RouterMetrics::RouterMetrics(size_t num_endpoints)
    : connect_failures_(num_endpoints, 0),
      scheduling_(latency_bounds()),
      first_byte_(latency_bounds()),
      duration_(latency_bounds()) {}

void RouterMetrics::request_done(int64_t endpoint, int status) {
  std::lock_guard lock(mu_);
  requests_[{endpoint, status}]++;
}

void RouterMetrics::connect_failed(size_t endpoint) {
  std::lock_guard lock(mu_);
  if (endpoint < connect_failures_.size()) connect_failures_[endpoint]++;
}

uint64_t RouterMetrics::requests(int64_t endpoint) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [key, count] : requests_) {
    if (key.first == endpoint) n += count;
  }
  return n;
}

uint64_t RouterMetrics::connect_failures(size_t endpoint) const {
  std::lock_guard lock(mu_);
  return endpoint < connect_failures_.size() ? connect_failures_[endpoint] : 0;
}

std::string RouterMetrics::render(const EndpointPool& pool, const Scheduler& scheduler) const {
  std::string out;
  out.reserve(8192);
  const auto status = pool.status();
  const auto now = EndpointPool::Clock::now();
  std::vector<std::string> ids;
  for (const auto& s : status) ids.push_back(s.address.id());
  auto endpoint_label = [&](int64_t i) { return i < 0 ? std::string("router") : ids[size_t(i)]; };

  {
    std::lock_guard lock(mu_);
    out += "# HELP kvtier_router_requests_total Requests answered, by endpoint and HTTP status "
           "(endpoint \"router\": answered by the router itself).\n"
           "# TYPE kvtier_router_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      fmt::format_to(std::back_inserter(out),
                     "kvtier_router_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n",
                     endpoint_label(key.first), key.second, count);
    }
    out += "# HELP kvtier_router_connect_failures_total Connections to an endpoint that failed "
           "(the request was retried elsewhere).\n"
           "# TYPE kvtier_router_connect_failures_total counter\n";
    for (size_t i = 0; i < connect_failures_.size(); ++i) {
      fmt::format_to(std::back_inserter(out),
                     "kvtier_router_connect_failures_total{{endpoint=\"{}\"}} {}\n", ids[i],
                     connect_failures_[i]);
    }
  }
  fmt::format_to(std::back_inserter(out),
                 "# HELP kvtier_router_no_endpoint_total Requests refused with 503: no usable "
                 "endpoint.\n# TYPE kvtier_router_no_endpoint_total counter\n"
                 "kvtier_router_no_endpoint_total {}\n",
                 no_endpoint_.load());

  out += "# HELP kvtier_router_endpoint_up Whether the endpoint is usable (healthy, fresh "
         "metrics).\n# TYPE kvtier_router_endpoint_up gauge\n";
  for (size_t i = 0; i < status.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "kvtier_router_endpoint_up{{endpoint=\"{}\"}} {}\n",
                   ids[i], pool.is_usable(i, now) ? 1 : 0);
  }
  struct Gauge {
    const char* name;
    const char* help;
    double (*get)(const EndpointStatus&);
  };
  const Gauge gauges[] = {
      {"kvtier_router_endpoint_in_flight", "Requests the router is proxying to the endpoint.",
       [](const EndpointStatus& s) { return double(s.in_flight); }},
      {"kvtier_router_endpoint_num_requests_waiting", "vllm:num_requests_waiting, last scraped.",
       [](const EndpointStatus& s) { return s.metrics.waiting; }},
      {"kvtier_router_endpoint_num_requests_running", "vllm:num_requests_running, last scraped.",
       [](const EndpointStatus& s) { return s.metrics.running; }},
      {"kvtier_router_endpoint_kv_cache_usage_perc", "vllm:kv_cache_usage_perc, last scraped.",
       [](const EndpointStatus& s) { return s.metrics.kv_usage; }},
  };
  for (const auto& g : gauges) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} gauge\n", g.name, g.help,
                   g.name);
    for (size_t i = 0; i < status.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "{}{{endpoint=\"{}\"}} {}\n", g.name, ids[i],
                     g.get(status[i]));
    }
  }
  out += "# HELP kvtier_router_endpoint_scrapes_total Scrapes of the endpoint's /metrics.\n"
         "# TYPE kvtier_router_endpoint_scrapes_total counter\n";
  for (size_t i = 0; i < status.size(); ++i) {
    fmt::format_to(std::back_inserter(out),
                   "kvtier_router_endpoint_scrapes_total{{endpoint=\"{}\",result=\"ok\"}} {}\n"
                   "kvtier_router_endpoint_scrapes_total{{endpoint=\"{}\",result=\"error\"}} {}\n",
                   ids[i], status[i].scrapes_ok, ids[i], status[i].scrapes_failed);
  }
  append_histogram(out, "kvtier_router_scheduling_seconds",
                   "Time from a request's arrival to its endpoint being picked (parse, tokenize, "
                   "score).",
                   scheduling_.snapshot());
  append_histogram(out, "kvtier_router_upstream_first_byte_seconds",
                   "Time from a request's arrival to the endpoint's response headers.",
                   first_byte_.snapshot());
  append_histogram(out, "kvtier_router_request_duration_seconds",
                   "Time from a request's arrival to the end of its proxied response.",
                   duration_.snapshot());
  for (const auto& ws : scheduler.scorers()) ws.scorer->append_metrics(out, ws.name, ids);
  return out;
}

}  // namespace kvtier::router
