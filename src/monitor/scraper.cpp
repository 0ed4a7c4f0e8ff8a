#include "monitor/scraper.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace kvtier::monitor {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

asio::awaitable<void> scrape_one(const ScrapeTarget& t, std::chrono::milliseconds timeout,
                                 size_t max_bytes, std::optional<Expected<std::string>>& out) {
  auto executor = co_await asio::this_coro::executor;
  error_code ec;
  auto fail = [&](const char* what) {
    out.emplace(make_error(ErrorCode::kUnavailable, "{} {}: {}: {}", t.name, t.url, what,
                           ec == beast::error::timeout
                               ? fmt::format("no answer within {} ms", timeout.count())
                               : ec.message()));
  };
  tcp::resolver resolver(executor);
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);  // one deadline for connect, request and reply
  auto endpoints = co_await resolver.async_resolve(
      t.host, std::to_string(t.port), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail("resolve");
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail("connect");
  http::request<http::empty_body> req{http::verb::get, t.path, 11};
  req.set(http::field::host, t.host);
  req.set(http::field::user_agent, "kvtier-monitor");
  req.set(http::field::accept, "text/plain");
  req.keep_alive(false);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail("request");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_bytes);
  auto too_big = [&] {
    out.emplace(make_error(ErrorCode::kResourceExhausted, "{} {}: body over {} bytes", t.name,
                           t.url, max_bytes));
  };
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::body_limit) co_return too_big();
  if (ec) co_return fail("reply");
  // The cap is checked here too: not every Boost version applies body_limit to a reply read
  // this way (1.74 does not).
  if (parser.content_length() && *parser.content_length() > max_bytes) co_return too_big();
  while (!parser.is_done()) {
    co_await http::async_read_some(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit || parser.get().body().size() > max_bytes) {
      co_return too_big();
    }
    if (ec) break;
  }
  if (ec) co_return fail("reply");
  auto res = parser.release();
  if (res.result_int() != 200) {
    out.emplace(make_error(ErrorCode::kUnavailable, "{} {}: HTTP status {}", t.name, t.url,
                           res.result_int()));
    co_return;
  }
  out.emplace(std::move(res.body()));
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

std::vector<Expected<std::string>> scrape_all(const std::vector<ScrapeTarget>& targets,
                                              std::chrono::milliseconds timeout,
                                              size_t max_bytes) {
  asio::io_context ioc;
  std::vector<std::optional<Expected<std::string>>> slots(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    asio::co_spawn(ioc, scrape_one(targets[i], timeout, max_bytes, slots[i]),
                   [&slots, &targets, i](std::exception_ptr e) {
                     if (e && !slots[i]) {
                       slots[i].emplace(internal_error("{}: scrape failed", targets[i].name));
                     }
                   });
  }
  ioc.run();
  std::vector<Expected<std::string>> out;
  out.reserve(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    out.push_back(slots[i] ? std::move(*slots[i])
                           : Expected<std::string>(internal_error("{}: no result", targets[i].name)));
  }
  return out;
}

}  // namespace kvtier::monitor
