#pragma once
// The gateway's shared state and the coroutines that run on it. Internal to the router module:
// it pulls in Asio and Beast, so only the gateway's own .cpp files include it.
#include <atomic>
#include <memory>
#include <thread>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "router/endpoint_pool.h"
#include "router/gateway.h"
#include "router/router_metrics.h"
#include "router/scheduler.h"
#include "router/upstream_pool.h"

namespace kvtier::router {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Gateway::State {
  // Declared before the io_context so they outlive it: destroying the io_context destroys the
  // coroutine frames it still holds, and their guards report to the pool and metrics.
  GatewayOptions options;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<EndpointPool> pool;
  std::unique_ptr<RouterMetrics> metrics;
  std::unique_ptr<UpstreamPool> upstream_pool;
  std::vector<tcp::resolver::results_type> resolved;  // per endpoint, resolved at creation
  std::atomic<int64_t> active_requests{0};
  std::atomic<uint64_t> next_request_id{1};  // SchedulingRequest ids, from any connection
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};

  asio::io_context ioc;
  asio::thread_pool prompt_pool;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;

  explicit State(GatewayOptions o)
      : options(std::move(o)), prompt_pool(size_t(std::max(1, options.prompt_threads))) {}
};

// One client connection: reads requests, answers or proxies each (router/proxy_session.cpp).
asio::awaitable<void> run_session(tcp::socket socket, Gateway::State& g);
// Keeps one endpoint's health and metrics current until the gateway stops
// (router/endpoint_scraper.cpp).
asio::awaitable<void> run_scraper(size_t endpoint, Gateway::State& g);

// An OpenAI-style error body: {"error": {"message", "type", "param": null, "code"}}.
std::string error_body(int status, std::string_view message);

}  // namespace kvtier::router
