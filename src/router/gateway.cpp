#include "router/gateway_state.h"

#include <pthread.h>
#include <time.h>

#include <csignal>
#include <future>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/cpu_time.h"
#include "router/plugin_factory.h"

namespace kvtier::router {
namespace {

const char* error_type(int status) {
  switch (status) {
    case 400: return "BadRequestError";
    case 404: return "NotFoundError";
    case 405: return "MethodNotAllowedError";
    case 408: return "RequestTimeoutError";
    case 413: return "RequestEntityTooLargeError";
    case 431: return "RequestHeaderFieldsTooLargeError";
    case 502: return "BadGatewayError";
    case 503: return "ServiceUnavailableError";
    case 504: return "GatewayTimeoutError";
    default: return status >= 500 ? "InternalServerError" : "BadRequestError";
  }
}

// Client connections open now. Owned by accept_loop's coroutine (shared with the sessions it
// spawns, which may outlive it); each session's strand decrements it when it ends.
using ConnectionCount = std::shared_ptr<std::atomic<size_t>>;

asio::awaitable<void> counted_session(tcp::socket socket, Gateway::State& g,
                                      ConnectionCount open) {
  struct Release {
    ConnectionCount open;
    ~Release() { open->fetch_sub(1); }
  } release{open};
  co_await run_session(std::move(socket), g);
}

// Past max_connections: a 503 without reading the request, then close. Runs on the refused
// connection's strand; the socket lives in the coroutine.
asio::awaitable<void> refuse_connection(tcp::socket socket, size_t limit) {
  const std::string body = error_body(
      503, fmt::format("the router has {} client connections open, its --max-connections; "
                       "retry later",
                       limit));
  const std::string response = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{}",
      body.size(), body);
  boost::system::error_code ec;
  co_await asio::async_write(socket, asio::buffer(response),
                             asio::redirect_error(asio::use_awaitable, ec));
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<void> accept_loop(Gateway::State& g) {
  auto open = std::make_shared<std::atomic<size_t>>(0);
  while (!g.stopping) {
    boost::system::error_code ec;
    tcp::socket socket = co_await g.acceptor.async_accept(
        asio::make_strand(g.ioc), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !g.acceptor.is_open()) break;
      spdlog::warn("route: accept failed: {}", ec.message());
      // Out of file descriptors, say: retrying at once would spin.
      asio::steady_timer pause(g.ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    if (open->load() >= g.options.max_connections) {
      spdlog::warn("route: {} client connections open: refusing one more", open->load());
      asio::co_spawn(executor, refuse_connection(std::move(socket), g.options.max_connections),
                     asio::detached);
      continue;
    }
    open->fetch_add(1);
    asio::co_spawn(executor, counted_session(std::move(socket), g, open), asio::detached);
  }
}

}  // namespace

std::string error_body(int status, std::string_view message) {
  nlohmann::ordered_json info;
  info["message"] = message;
  info["type"] = error_type(status);
  info["param"] = nullptr;
  info["code"] = status;
  nlohmann::ordered_json body;
  body["error"] = std::move(info);
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Gateway::Gateway(std::unique_ptr<State> state) : state_(std::move(state)) {}

Gateway::~Gateway() { stop(); }

Expected<std::unique_ptr<Gateway>> Gateway::create(GatewayOptions options) {
  if (options.endpoints.empty()) {
    return invalid_argument("kvtier route needs at least one --endpoint");
  }
  std::set<std::string> ids;
  for (const auto& e : options.endpoints) {
    if (!ids.insert(e.id()).second) {
      return invalid_argument("endpoint {} is given twice", e.id());
    }
  }
  if (options.max_attempts < 1) return invalid_argument("max attempts must be >= 1");
  auto state = std::make_unique<State>(std::move(options));
  GatewayOptions& o = state->options;
  const uint64_t seed = o.seed ? o.seed : std::random_device{}();
  KVTIER_ASSIGN_OR_RETURN(state->scheduler, build_scheduler(o.picker_config, o.endpoints, seed));
  state->pool = std::make_unique<EndpointPool>(o.endpoints, o.stale_after);
  state->metrics = std::make_unique<RouterMetrics>(o.endpoints.size());
  state->upstream_pool = std::make_unique<UpstreamPool>(o.endpoints.size(), o.max_idle_upstream);
  Scheduler* scheduler = state->scheduler.get();
  UpstreamPool* upstream_pool = state->upstream_pool.get();
  state->pool->set_on_lost_cache([scheduler, upstream_pool](size_t i) {
    scheduler->endpoint_down(i);
    upstream_pool->clear(i);
  });

  tcp::resolver resolver(state->ioc);
  for (const auto& e : o.endpoints) {
    boost::system::error_code ec;
    auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
    if (ec || results.empty()) {
      return invalid_argument("endpoint {}: cannot resolve host '{}': {}", e.id(), e.host,
                              ec ? ec.message() : "no address");
    }
    state->resolved.push_back(std::move(results));
  }

  boost::system::error_code ec;
  auto address = asio::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host, ec);
  if (ec) return invalid_argument("--host '{}' is not an IP address", o.host);
  tcp::endpoint listen(address, o.port);
  auto& acceptor = state->acceptor;
  acceptor.open(listen.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(listen, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "cannot listen on {}:{}: {}", o.host, o.port,
                      ec.message());
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(state)));
}

uint16_t Gateway::port() const { return state_->acceptor.local_endpoint().port(); }

void Gateway::start() {
  State& g = *state_;
  if (g.started.exchange(true)) return;
  asio::co_spawn(g.ioc, accept_loop(g), asio::detached);
  for (size_t i = 0; i < g.pool->size(); ++i) {
    asio::co_spawn(asio::make_strand(g.ioc), run_scraper(i, g), asio::detached);
  }
  int threads = g.options.io_threads;
  if (threads <= 0) threads = int(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  for (int i = 0; i < threads; ++i) {
    g.threads.emplace_back([&g] { g.ioc.run(); });
  }
  spdlog::info("route: listening on {}:{} for {} endpoint(s), profile '{}'", g.options.host,
               port(), g.pool->size(), g.scheduler->profile_name());
}

void Gateway::run() {
  start();
  State& g = *state_;
  // Signals arrive on the io_context; the wait for in-flight requests happens on this thread.
  asio::signal_set signals(g.ioc, SIGINT, SIGTERM);
  std::promise<void> stop_requested;
  auto stop_future = stop_requested.get_future();
  std::atomic<bool> fired{false};
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (!ec) spdlog::info("route: signal {}: draining", signo);
    if (!fired.exchange(true)) stop_requested.set_value();
  });
  // stop() from another thread closes the acceptor: watch for that too.
  while (stop_future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (g.stopping) break;
  }
  boost::system::error_code ignored;
  signals.cancel(ignored);
  stop();
}

void Gateway::stop() {
  State& g = *state_;
  if (g.stopped.exchange(true)) return;
  g.stopping = true;
  asio::post(g.ioc, [&g] {
    boost::system::error_code ec;
    g.acceptor.close(ec);
  });
  if (g.started) {
    const auto deadline = std::chrono::steady_clock::now() + g.options.shutdown_timeout;
    while (g.active_requests > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (g.active_requests > 0) {
      spdlog::warn("route: {} request(s) still in flight after the shutdown timeout",
                   g.active_requests.load());
    }
  }
  g.ioc.stop();
  for (auto& t : g.threads) t.join();
  g.threads.clear();
  g.prompt_pool.join();
}

double Gateway::io_cpu_seconds() const {
  double total = 0;
  for (auto& t : state_->threads) {
    total += thread_cpu_seconds(const_cast<std::thread&>(t).native_handle());
  }
  return total;
}

EndpointPool& Gateway::endpoints() { return *state_->pool; }
Scheduler& Gateway::scheduler() { return *state_->scheduler; }
RouterMetrics& Gateway::metrics() { return *state_->metrics; }

}  // namespace kvtier::router
