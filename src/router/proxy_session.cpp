// Client connections: read a request, answer it locally or schedule it onto an endpoint and relay
// the endpoint's response back, chunk by chunk, reading from the endpoint only after the client
// took the previous chunk.
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "router/gateway_state.h"

namespace kvtier::router {
namespace {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto kUseEc = [](error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); };

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus those the
// Connection header names.
template <typename Fields>
void strip_hop_by_hop(Fields& fields) {
  std::vector<std::string> named;
  for (auto token : http::token_list(fields[http::field::connection])) {
    named.emplace_back(token.data(), token.size());
  }
  for (const auto& name : named) fields.erase(name);
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                 http::field::te, http::field::trailer, http::field::transfer_encoding,
                 http::field::upgrade}) {
    fields.erase(f);
  }
}

// Counts a request as in flight for graceful shutdown.
struct ActiveRequest {
  explicit ActiveRequest(Gateway::State& g) : g(g) { g.active_requests++; }
  ~ActiveRequest() { g.active_requests--; }
  Gateway::State& g;
};

// Counts a request against its endpoint while it is proxied there.
struct InFlight {
  InFlight(Gateway::State& g, size_t i) : g(g), i(i) { g.pool->request_started(i); }
  ~InFlight() { g.pool->request_finished(i); }
  Gateway::State& g;
  size_t i;
};

// Coroutine arguments are named objects passed by reference: GCC 12 mishandles temporaries
// that live across a co_await (they get destroyed twice).
asio::awaitable<bool> send_local(beast::tcp_stream& client, unsigned version, bool keep_alive,
                                 int status, std::string_view content_type,
                                 const std::string& body, Gateway::State& g) {
  http::response<http::string_body> res{http::status(status), version};
  res.set(http::field::server, "kvtier-route");
  res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.keep_alive(keep_alive);
  res.body() = body;
  res.prepare_payload();
  error_code ec;
  client.expires_after(g.options.client_timeout);
  co_await http::async_write(client, res, kUseEc(ec));
  co_return !ec && keep_alive;
}

asio::awaitable<bool> send_error(beast::tcp_stream& client, unsigned version, bool keep_alive,
                                 int status, const std::string& message, Gateway::State& g) {
  const std::string body = error_body(status, message);
  const bool keep = co_await send_local(client, version, keep_alive, status, "application/json",
                                        body, g);
  co_return keep;
}

// While a response is awaited or streamed, notices a client that hangs up so the endpoint's
// connection is closed at once (and the engine aborts the request), not at the next write.
struct DisconnectWatch {
  bool active = true;            // false once the relay ended: touch nothing then
  tcp::socket* upstream = nullptr;
  bool client_gone = false;
};

asio::awaitable<void> watch_client(tcp::socket& client, std::shared_ptr<DisconnectWatch> w) {
  error_code ec;
  co_await client.async_wait(tcp::socket::wait_read, kUseEc(ec));
  if (ec || !w->active) co_return;
  char byte;
  const ssize_t n = ::recv(client.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    w->client_gone = true;
    if (w->upstream) w->upstream->cancel(ec);
  }
  // n > 0: the client sent its next request early; the session reads it after this response.
}

struct WatchGuard {
  WatchGuard(tcp::socket& client, std::shared_ptr<DisconnectWatch> w) : client(client), w(std::move(w)) {}
  ~WatchGuard() {
    w->active = false;
    w->upstream = nullptr;
    error_code ignored;
    client.cancel(ignored);
  }
  tcp::socket& client;
  std::shared_ptr<DisconnectWatch> w;
};

struct ClientInfo {
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
};

tcp protocol_of(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
      address.ss_family == AF_INET6) {
    return tcp::v6();
  }
  return tcp::v4();
}

struct RelayResult {
  bool keep_client = false;  // the client connection can serve another request
  bool stale = false;        // a reused connection was closed by the endpoint: nothing happened
};

// `data: {"error": {...}}` in the OpenAI shape vLLM streams errors in; preceded by a blank line
// when the relayed bytes stopped inside an event, so the error is an event of its own.
std::string sse_error_event(const std::string& message, const std::string& relayed_tail) {
  nlohmann::json error = {{"error",
                           {{"object", "error"},
                            {"message", message},
                            {"type", "BadGatewayError"},
                            {"param", nullptr},
                            {"code", 502}}}};
  const bool at_boundary = relayed_tail.empty() || relayed_tail == "\n\n";
  return std::string(at_boundary ? "" : "\n\n") + "data: " + error.dump() + "\n\n";
}

// Sends `req` to the connected endpoint and streams its response to the client. `reused`: the
// connection comes from the pool, so the endpoint may have closed it meanwhile.
asio::awaitable<RelayResult> relay(beast::tcp_stream& client, beast::tcp_stream& upstream,
                                   bool reused, http::request<http::string_body>& req,
                                   const EndpointView& ep, const ResponseHeaders& extra_headers,
                                   const ClientInfo& info, Clock::time_point arrived,
                                   Gateway::State& g) {
  error_code ec;
  InFlight in_flight(g, ep.index);
  req.version(11);
  strip_hop_by_hop(req);
  req.erase(http::field::expect);
  req.set(http::field::host, ep.id);
  req.keep_alive(true);
  req.prepare_payload();
  upstream.expires_after(g.options.upstream_timeout);
  co_await http::async_write(upstream, req, kUseEc(ec));
  if (ec && reused) co_return RelayResult{false, true};
  if (ec) {
    g.metrics->request_done(int64_t(ep.index), 502);
    const std::string message =
        fmt::format("endpoint {}: sending the request failed: {}", ep.id, ec.message());
    const bool keep = co_await send_error(client, info.version, info.keep_alive, 502, message, g);
    co_return RelayResult{keep, false};
  }

  auto watch = std::make_shared<DisconnectWatch>();
  watch->upstream = &upstream.socket();
  auto executor = co_await asio::this_coro::executor;
  asio::co_spawn(executor, watch_client(client.socket(), watch), asio::detached);
  WatchGuard guard(client.socket(), watch);

  beast::flat_buffer upstream_buffer;
  http::response_parser<http::buffer_body> parser;
  // Not boost::none: Boost 1.74 then rejects every Content-Length (optional compares as less).
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(64 * 1024);
  if (info.head) parser.skip(true);
  co_await http::async_read_header(upstream, upstream_buffer, parser, kUseEc(ec));
  if (ec) {
    if (watch->client_gone) co_return RelayResult{};
    // A kept-alive connection the endpoint closed before reading the request: nothing was done.
    const bool closed = ec == http::error::end_of_stream || ec == asio::error::eof ||
                        ec == asio::error::connection_reset;
    if (reused && closed && upstream_buffer.size() == 0) co_return RelayResult{false, true};
    g.metrics->request_done(int64_t(ep.index), 502);
    const std::string message = fmt::format(
        "endpoint {} closed the connection without a response: {}", ep.id, ec.message());
    co_await send_error(client, info.version, false, 502, message, g);
    co_return RelayResult{};
  }
  g.metrics->observe_first_byte(seconds_since(arrived));

  auto& res = parser.get();
  const int status = res.result_int();
  const bool upstream_keep_alive = res.keep_alive();
  const bool has_length = res.has_content_length();
  strip_hop_by_hop(res);
  bool keep_alive = info.keep_alive;
  res.version(info.version);
  if (!has_length && !parser.is_done()) {
    // The body ends with the endpoint's chunked encoding or its close: re-frame it for the
    // client, chunked when HTTP/1.1 allows, else delimited by closing.
    if (info.version >= 11) {
      res.chunked(true);
    } else {
      keep_alive = false;
    }
  }
  res.keep_alive(keep_alive);
  res.set("x-gateway-destination-endpoint", ep.id);
  for (const auto& [name, value] : extra_headers) {
    // The endpoint's own cookies stay; a scorer's other headers replace the endpoint's.
    if (beast::iequals(name, "set-cookie")) {
      res.insert(name, value);
    } else {
      res.set(name, value);
    }
  }

  // The endpoint's connection goes back to the pool as soon as its response is fully read, before
  // the last bytes reach the client: a client that sends its next request the moment it has the
  // response must find the connection pooled, not open another.
  bool upstream_released = false;
  auto release_upstream = [&] {
    if (upstream_released || !upstream_keep_alive || !parser.is_done() ||
        upstream_buffer.size() != 0 || watch->client_gone) {
      return;
    }
    upstream_released = true;
    watch->upstream = nullptr;
    error_code ignored;
    tcp::socket socket = upstream.release_socket();
    const int fd = socket.release(ignored);
    if (!ignored) g.upstream_pool->release(ep.index, fd);
  };
  release_upstream();  // a response without a body

  http::response_serializer<http::buffer_body> serializer{res};
  client.expires_after(g.options.client_timeout);
  co_await http::async_write_header(client, serializer, kUseEc(ec));
  if (ec) co_return RelayResult{};

  const bool event_stream = sv(res[http::field::content_type]).starts_with("text/event-stream");
  std::string relayed_tail;  // the last two body bytes passed on: is an event open?
  std::array<char, 16 * 1024> buf;
  while (!serializer.is_done()) {
    if (!parser.is_done()) {
      res.body().data = buf.data();
      res.body().size = buf.size();
      upstream.expires_after(g.options.upstream_timeout);
      co_await http::async_read_some(upstream, upstream_buffer, parser, kUseEc(ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        if (!watch->client_gone) {
          spdlog::warn("route: endpoint {} cut its response short: {}", ep.id, ec.message());
          g.metrics->request_done(int64_t(ep.index), 502);
          if (event_stream) {
            // The 200 is already sent: an SSE client learns of the failure only from an event.
            // It ends the body and the connection closes; no [DONE], the stream is incomplete.
            std::string event = sse_error_event(
                fmt::format("endpoint {} cut its response short: {}", ep.id, ec.message()),
                relayed_tail);
            res.body().data = event.data();
            res.body().size = event.size();
            res.body().more = true;
            client.expires_after(g.options.client_timeout);
            co_await http::async_write(client, serializer, kUseEc(ec));
            if (ec == http::error::need_buffer) ec = {};
            if (!ec) {
              res.body().data = nullptr;
              res.body().size = 0;
              res.body().more = false;
              co_await http::async_write(client, serializer, kUseEc(ec));
            }
          }
        }
        // Otherwise closing without the final chunk tells the client the body is incomplete.
        co_return RelayResult{};
      }
      const size_t got = buf.size() - res.body().size;
      // A read may parse only framing (a chunk header): nothing to pass on yet. An empty buffer
      // must not reach the serializer, which would write it as the final chunk.
      if (got == 0 && !parser.is_done()) continue;
      res.body().size = got;
      res.body().data = got ? buf.data() : nullptr;
      relayed_tail.append(buf.data() + got - std::min<size_t>(got, 2), std::min<size_t>(got, 2));
      if (relayed_tail.size() > 2) relayed_tail.erase(0, relayed_tail.size() - 2);
      res.body().more = !parser.is_done();
      release_upstream();
    } else {
      res.body().data = nullptr;
      res.body().size = 0;
      res.body().more = false;
    }
    client.expires_after(g.options.client_timeout);
    co_await http::async_write(client, serializer, kUseEc(ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return RelayResult{};  // the client went away; the endpoint's connection closes
  }
  g.metrics->request_done(int64_t(ep.index), status);
  g.metrics->observe_duration(seconds_since(arrived));
  co_return RelayResult{keep_alive, false};
}

std::string unusable_reasons(const Gateway::State& g) {
  std::string out;
  for (const auto& s : g.pool->status()) {
    if (!out.empty()) out += ", ";
    out += s.address.id() + " (" + s.last_error + ")";
  }
  return out;
}

asio::awaitable<bool> proxy(beast::tcp_stream& client, http::request<http::string_body>& req,
                            const SchedulingRequest& sreq, const ClientInfo& info,
                            Clock::time_point arrived, Gateway::State& g) {
  const auto candidates = g.pool->usable();
  if (candidates.empty()) {
    g.metrics->no_endpoint();
    g.metrics->request_done(-1, 503);
    const std::string message = "no usable endpoint: " + unusable_reasons(g);
    const bool keep = co_await send_error(client, info.version, info.keep_alive, 503, message, g);
    co_return keep;
  }
  const SchedulingResult result = g.scheduler->schedule(sreq, candidates);
  g.metrics->observe_scheduling(seconds_since(arrived));
  // Tells the scorers the request is over, however the proxying below ends.
  struct Finished {
    Scheduler& scheduler;
    const SchedulingRequest& request;
    std::optional<EndpointView> chosen;
    ~Finished() { scheduler.finished(request, chosen ? &*chosen : nullptr); }
  } finished{*g.scheduler, sreq, std::nullopt};
  if (result.order.empty() && !result.filtered_out.empty()) {
    g.metrics->no_endpoint();
    g.metrics->request_done(-1, 503);
    const std::string message = "no usable endpoint: " + result.filtered_out;
    const bool keep = co_await send_error(client, info.version, info.keep_alive, 503, message, g);
    co_return keep;
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    spdlog::debug("route: {} {} ({} prompt tokens): {}", sv(req.method_string()),
                  sv(req.target()), sreq.prompt_tokens().size(),
                  g.scheduler->describe(result, candidates));
  }
  auto executor = co_await asio::this_coro::executor;
  const size_t attempts = std::min(result.order.size(), size_t(g.options.max_attempts));
  std::string failures;
  for (size_t a = 0; a < attempts; ++a) {
    const EndpointView& ep = candidates[result.order[a]];
    bool routed = false;
    // A pooled connection first; if the endpoint had closed it, once more on a fresh one.
    for (bool allow_pooled = true;; allow_pooled = false) {
      beast::tcp_stream upstream(executor);
      error_code ec;
      bool reused = false;
      if (const int fd = allow_pooled ? g.upstream_pool->acquire(ep.index) : -1; fd >= 0) {
        upstream.socket().assign(protocol_of(fd), fd, ec);
        reused = !ec;
      }
      if (!reused) {
        upstream.expires_after(g.options.connect_timeout);
        co_await upstream.async_connect(g.resolved[ep.index], kUseEc(ec));
        if (ec) {
          // Nothing was sent: the next endpoint in the order gets the request.
          g.metrics->connect_failed(ep.index);
          const bool gone = ec == asio::error::connection_refused ||
                            ec == asio::error::connection_reset ||
                            ec == asio::error::host_unreachable;
          g.pool->mark_down(ep.index, "connect failed: " + ec.message(), gone);
          g.upstream_pool->clear(ep.index);
          failures += fmt::format("{}{}: {}", failures.empty() ? "" : ", ", ep.id, ec.message());
          spdlog::info("route: endpoint {} refused a request ({}); trying the next", ep.id,
                       ec.message());
          break;
        }
        error_code ignored;
        upstream.socket().set_option(tcp::no_delay(true), ignored);
      }
      if (!routed) {
        g.scheduler->routed(sreq, ep);
        finished.chosen = ep;
        routed = true;
      }
      const ResponseHeaders extra_headers = g.scheduler->response_headers(sreq, ep);
      const RelayResult r =
          co_await relay(client, upstream, reused, req, ep, extra_headers, info, arrived, g);
      if (!r.stale) co_return r.keep_client;
    }
  }
  g.metrics->no_endpoint();
  g.metrics->request_done(-1, 503);
  const std::string message = "no endpoint accepted the connection: " + failures;
  const bool keep = co_await send_error(client, info.version, info.keep_alive, 503, message, g);
  co_return keep;
}

std::optional<SchedulingRequest> parse_prompt(const Gateway::State& g, ApiKind kind,
                                              const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    spdlog::debug("route: body is not JSON: routing on load only");
    return std::nullopt;
  }
  auto read = g.options.prompt_reader->read(kind, json);
  if (!read) {
    spdlog::debug("route: prompt not readable ({}): routing on load only",
                  read.error().message());
    return std::nullopt;
  }
  return std::move(*read);
}

asio::awaitable<std::optional<SchedulingRequest>> read_prompt(Gateway::State& g, ApiKind kind,
                                                              const std::string& body) {
  if (body.size() <= g.options.inline_prompt_bytes) co_return parse_prompt(g, kind, body);
  // JSON parsing and tokenization of a long prompt take milliseconds: not on an I/O thread.
  auto task = [&g, kind, &body]() -> asio::awaitable<std::optional<SchedulingRequest>> {
    co_return parse_prompt(g, kind, body);
  };
  std::optional<SchedulingRequest> result =
      co_await asio::co_spawn(g.prompt_pool.get_executor(), std::move(task), asio::use_awaitable);
  co_return result;
}

std::string models_body(const Gateway::State& g) {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  for (const auto& name : g.options.served_model_names) {
    nlohmann::ordered_json m;
    m["id"] = name;
    m["object"] = "model";
    m["created"] = created;
    m["owned_by"] = "kvtier";
    m["root"] = name;
    m["parent"] = nullptr;
    data.push_back(std::move(m));
  }
  nlohmann::ordered_json body;
  body["object"] = "list";
  body["data"] = std::move(data);
  return body.dump();
}

asio::awaitable<bool> handle(beast::tcp_stream& client, http::request<http::string_body>& req,
                             Gateway::State& g) {
  const auto arrived = Clock::now();
  ActiveRequest active(g);
  ClientInfo info;
  info.version = req.version();
  info.keep_alive = req.keep_alive() && !g.stopping;
  info.head = req.method() == http::verb::head;
  const std::string_view target = sv(req.target());
  const std::string_view path = target.substr(0, target.find('?'));
  const bool get = req.method() == http::verb::get;

  if (path == "/health" || path == "/metrics" ||
      (path == "/v1/models" && !g.options.served_model_names.empty())) {
    int status = 200;
    std::string body;
    std::string_view type = "application/json";
    if (!get) {
      status = 405;
      body = error_body(status, fmt::format("{} supports GET only", path));
    } else if (path == "/health") {
      if (g.pool->usable().empty()) {
        status = 503;
        body = error_body(status, "no usable endpoint: " + unusable_reasons(g));
      }
    } else if (path == "/metrics") {
      body = g.metrics->render(*g.pool, *g.scheduler);
      type = "text/plain; version=0.0.4; charset=utf-8";
    } else {
      body = models_body(g);
    }
    g.metrics->request_done(-1, status);
    const bool keep = co_await send_local(client, info.version, info.keep_alive, status, type,
                                          body, g);
    co_return keep;
  }

  SchedulingRequest sreq;
  const bool completions = path == "/v1/completions";
  if (req.method() == http::verb::post && (completions || path == "/v1/chat/completions") &&
      g.options.prompt_reader) {
    const ApiKind kind = completions ? ApiKind::kCompletions : ApiKind::kChatCompletions;
    std::optional<SchedulingRequest> read = co_await read_prompt(g, kind, req.body());
    if (read) sreq = std::move(*read);
  }
  sreq.set_id(g.next_request_id.fetch_add(1));
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& field : req) {
    headers.emplace_back(std::string(sv(field.name_string())), std::string(sv(field.value())));
  }
  sreq.set_headers(std::move(headers));
  const bool keep = co_await proxy(client, req, sreq, info, arrived, g);
  co_return keep;
}

}  // namespace

namespace {

// A parse error in what the client sent (Beast's HTTP category), as opposed to the connection
// ending before a whole request came.
bool is_malformed(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// A deadline for one read from the client. Beast's own stream timeout would close the socket,
// leaving no way to answer 408, so a timer on the session's strand cancels the read instead.
// The timer's handler and the session's coroutine share the strand: once the read has ended
// (`waiting` false), a handler already queued does nothing and touches no socket.
class ReadDeadline {
 public:
  ReadDeadline(beast::tcp_stream& client, std::chrono::milliseconds after)
      : state_(std::make_shared<State>()), timer_(client.get_executor()) {
    timer_.expires_after(after);
    timer_.async_wait([state = state_, &client](error_code e) {
      if (e || !state->waiting) return;
      state->timed_out = true;
      client.socket().cancel();
    });
  }
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;
  ~ReadDeadline() { read_ended(); }

  void read_ended() {
    state_->waiting = false;
    timer_.cancel();
  }
  bool timed_out() const { return state_->timed_out; }

 private:
  struct State {
    bool waiting = true;
    bool timed_out = false;
  };
  std::shared_ptr<State> state_;
  asio::steady_timer timer_;
};

}  // namespace

asio::awaitable<void> run_session(tcp::socket socket, Gateway::State& g) {
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buffer;
  error_code ec;
  while (!g.stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(g.options.max_body_bytes);
    parser.header_limit(64 * 1024);
    client.expires_never();
    {
      // The header (or the next request on a kept-alive connection) must come within
      // header_timeout.
      ReadDeadline deadline(client, g.options.header_timeout);
      co_await http::async_read_header(client, buffer, parser, kUseEc(ec));
      deadline.read_ended();
      if (ec && deadline.timed_out()) {
        // An idle kept-alive connection just closes; a header cut short is told why.
        if (parser.got_some() || buffer.size() > 0) {
          const std::string message = fmt::format("request header not received within {} ms",
                                                  g.options.header_timeout.count());
          co_await send_error(client, 11, false, 408, message, g);
        }
        break;
      }
    }
    if (ec) {
      if (is_malformed(ec)) {
        // A Content-Length over the limit is caught with the header.
        const int status = ec == http::error::body_limit     ? 413
                           : ec == http::error::header_limit ? 431
                                                             : 400;
        const std::string message =
            status == 413 ? fmt::format("request body larger than {} bytes",
                                        g.options.max_body_bytes)
                          : "malformed HTTP request: " + ec.message();
        co_await send_error(client, 11, false, status, message, g);
      }
      break;
    }
    const unsigned version = parser.get().version();
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, version};
      go_on.prepare_payload();
      client.expires_after(g.options.client_timeout);
      co_await http::async_write(client, go_on, kUseEc(ec));
      if (ec) break;
    }
    {
      // The whole body must come within client_timeout (a slow-loris body is answered 408).
      client.expires_never();
      ReadDeadline deadline(client, g.options.client_timeout);
      co_await http::async_read(client, buffer, parser, kUseEc(ec));
      deadline.read_ended();
      if (ec && deadline.timed_out()) {
        const std::string message = fmt::format("request body not received within {} ms",
                                                g.options.client_timeout.count());
        co_await send_error(client, version, false, 408, message, g);
        break;
      }
    }
    if (ec == http::error::body_limit) {
      const std::string message =
          fmt::format("request body larger than {} bytes", g.options.max_body_bytes);
      co_await send_error(client, version, false, 413, message, g);
      break;
    }
    if (ec && is_malformed(ec)) {
      // A body the parser rejects (a bad chunk size or chunk end) is answered, not just closed
      // on: the client learns what was wrong.
      const std::string message = "malformed HTTP request body: " + ec.message();
      co_await send_error(client, version, false, 400, message, g);
      break;
    }
    if (ec) break;
    client.expires_never();
    http::request<http::string_body> req = parser.release();
    const bool keep = co_await handle(client, req, g);
    if (!keep) break;
  }
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace kvtier::router
