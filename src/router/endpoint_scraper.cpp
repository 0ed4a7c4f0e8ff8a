// Per endpoint, every scrape interval: GET /metrics (and /health every health interval, or every
// time while the endpoint is down) over one keep-alive connection.
#include <spdlog/spdlog.h>

#include "router/endpoint_metrics.h"
#include "router/gateway_state.h"

namespace kvtier::router {
namespace {

using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxMetricsBytes = 16 << 20;

struct Reply {
  int status = 0;
  std::string body;
};

asio::awaitable<Reply> get(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                           const std::string& host, const char* target,
                           std::chrono::milliseconds timeout, error_code& ec) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "kvtier-route");
  req.keep_alive(true);
  stream.expires_after(timeout);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Reply{};
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxMetricsBytes);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Reply{};
  auto res = parser.release();
  if (!res.keep_alive()) ec = asio::error::eof;  // reconnect next time
  co_return Reply{int(res.result_int()), std::move(res.body())};
}

bool process_gone(const error_code& ec) {
  return ec == asio::error::connection_refused || ec == asio::error::connection_reset ||
         ec == asio::error::host_unreachable || ec == asio::error::network_unreachable;
}

}  // namespace

asio::awaitable<void> run_scraper(size_t i, Gateway::State& g) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const std::string host = g.options.endpoints[i].id();
  const auto timeout = g.options.scrape_timeout;
  std::optional<beast::tcp_stream> conn;
  beast::flat_buffer buffer;
  Clock::time_point last_health{};
  bool healthy = false;

  while (!g.stopping) {
    const auto cycle = Clock::now();
    error_code ec;
    // One retry on a fresh connection: a kept-alive connection may have been closed meanwhile.
    for (int attempt = 0; attempt < 2; ++attempt) {
      ec = {};
      if (!conn) {
        conn.emplace(executor);
        buffer.clear();
        conn->expires_after(timeout);
        co_await conn->async_connect(g.resolved[i], asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          conn.reset();
          break;  // a fresh connection failed: no point retrying now
        }
        conn->socket().set_option(tcp::no_delay(true), ec);
        ec = {};
      }
      if (!healthy || cycle - last_health >= g.options.health_interval) {
        Reply health = co_await get(*conn, buffer, host, "/health", timeout, ec);
        if (ec && health.status == 0) {
          conn.reset();
          continue;
        }
        last_health = cycle;
        healthy = health.status == 200;
        g.pool->record_health(i, healthy,
                              healthy ? "" : fmt::format("/health returned {}", health.status));
        if (ec) conn.reset();
        if (!healthy) break;
        if (!conn) continue;
      }
      Reply metrics = co_await get(*conn, buffer, host, "/metrics", timeout, ec);
      if (ec && metrics.status == 0) {
        conn.reset();
        continue;
      }
      if (ec) conn.reset();
      if (metrics.status != 200) {
        g.pool->record_scrape_failure(i, fmt::format("/metrics returned {}", metrics.status));
      } else if (auto parsed = parse_endpoint_metrics(metrics.body)) {
        g.pool->record_metrics(i, *parsed, Clock::now());
      } else {
        g.pool->record_scrape_failure(i, "/metrics: " + parsed.error().message());
      }
      ec = {};
      break;
    }
    if (ec) {
      healthy = false;
      g.pool->record_scrape_failure(i, "scrape failed: " + ec.message());
      // A refused connection means the process is gone, with its cache.
      g.pool->mark_down(i, "cannot reach: " + ec.message(), process_gone(ec));
    }
    timer.expires_at(cycle + g.options.scrape_interval);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace kvtier::router
