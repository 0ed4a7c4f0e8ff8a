#include "bench/http_target.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace kvtier::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string HttpTarget::url() const {
  return "http://" + host + ":" + port + base_path;
}

std::string HttpTarget::path(std::string_view route) const {
  return base_path + std::string(route);
}

Expected<HttpTarget> parse_target(std::string_view url) {
  const std::string original(url);
  HttpTarget t;
  if (url.starts_with("https://")) {
    return make_error(ErrorCode::kUnimplemented,
                      "--target {}: https is not supported; use http:// (or a TLS-terminating "
                      "proxy)",
                      original);
  }
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else if (url.find("://") != std::string_view::npos) {
    return invalid_argument("--target {}: only http:// URLs are supported", original);
  }
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : url.substr(slash);
  if (authority.empty()) return invalid_argument("--target {}: no host in the URL", original);
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalid_argument("--target {}: unterminated IPv6 address", original);
    }
    t.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid_argument("--target {}: bad port", original);
      t.port = std::string(rest.substr(1));
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    t.host = std::string(authority.substr(0, colon));
    t.port = std::string(authority.substr(colon + 1));
  } else {
    t.host = std::string(authority);
  }
  if (t.host.empty()) return invalid_argument("--target {}: no host in the URL", original);
  if (t.port.empty() || t.port.find_first_not_of("0123456789") != std::string::npos ||
      t.port.size() > 5 || std::stoi(t.port) == 0 || std::stoi(t.port) > 65535) {
    return invalid_argument("--target {}: port '{}' is not a number in 1..65535", original, t.port);
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  if (path.ends_with("/v1")) path.remove_suffix(3);
  while (path.ends_with('/')) path.remove_suffix(1);
  t.base_path = std::string(path);
  return t;
}

Expected<HttpResponse> http_request(const HttpTarget& target, const HttpOptions& options,
                                    std::string_view method, std::string_view route,
                                    std::string_view body, double timeout_s) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  const auto deadline = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(timeout_s));
  const std::string url = target.url() + std::string(route);
  auto unavailable = [&](const std::string& what) {
    return make_error(ErrorCode::kUnavailable, "{} {}: {}", method, url, what);
  };

  beast::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec) return unavailable("cannot resolve host '" + target.host + "': " + ec.message());

  const auto verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) return invalid_argument("unknown HTTP method '{}'", method);
  http::request<http::string_body> req{verb, target.path(route), 11};
  req.set(http::field::host, target.host + ":" + target.port);
  req.set(http::field::user_agent, "kvtier-bench");
  for (const auto& [name, value] : options.headers) req.set(name, value);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();

  HttpResponse result;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  std::string failure;
  stream.expires_after(deadline);
  stream.async_connect(endpoints, [&](beast::error_code e, const auto&) {
    if (e) {
      failure = "cannot connect: " + e.message();
      return;
    }
    http::async_write(stream, req, [&](beast::error_code e2, size_t) {
      if (e2) {
        failure = "cannot send request: " + e2.message();
        return;
      }
      http::async_read(stream, buffer, parser, [&](beast::error_code e3, size_t) {
        if (e3) failure = "cannot read response: " + e3.message();
      });
    });
  });
  io.run();
  if (!failure.empty()) return unavailable(failure);
  result.status = static_cast<int>(parser.get().result_int());
  result.body = std::move(parser.get().body());
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return result;
}

}  // namespace kvtier::bench
