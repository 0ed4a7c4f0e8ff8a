// One HTTP connection: reads requests (with timeouts and limits), hands them to the request
// handler, writes responses and SSE streams, and notices a client that goes away mid-response.
#include <array>
#include <sstream>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/api_error.h"
#include "server/http_server_impl.h"

namespace kvtier::server {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

std::string lower(beast::string_view s) {
  std::string out(s.data(), s.size());
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <class Body>
std::string serialize(const http::response<Body>& response) {
  std::ostringstream os;
  os << response;
  return os.str();
}

}  // namespace

// One connection. All members are touched only on the connection's strand (the stream's
// executor), except open_ (read by is_open from the same strand, atomic for safety) and post().
class Session final : public Responder, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server, uint64_t id)
      : stream_(std::move(socket)), read_timer_(stream_.get_executor()), server_(server), id_(id) {
    server_.connections.fetch_add(1);
  }
  ~Session() override {
    server_.remove_session(id_);
    server_.connections.fetch_sub(1);
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stream_.socket().non_blocking(true, ec);
      self->stream_.socket().set_option(tcp::no_delay(true), ec);
      if (size_t(self->server_.connections.load()) > self->server_.config.max_connections) {
        self->in_exchange_ = true;
        self->keep_alive_ = false;
        self->send(error_response(
            ApiError{503, "the server has too many open connections; retry later", {}}));
        return;
      }
      self->read_request();
    });
  }

  // Shutdown: idle connections close now, busy ones after their response.
  void close_when_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->in_exchange_) self->close();
    });
  }

  // Responder ------------------------------------------------------------------------------
  void send(HttpResponse response) override {
    if (!open_ || !in_exchange_ || response_complete_) return;
    http::response<http::string_body> res{http::status(unsigned(response.status)), version_};
    res.set(http::field::server, "kvtier");
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(keep_alive_ && !closing_);
    res.body() = std::move(response.body);
    res.prepare_payload();
    response_complete_ = true;
    enqueue(serialize(res));
  }

  void begin_stream(std::string content_type) override {
    if (!open_ || !in_exchange_ || response_complete_ || streaming_) return;
    streaming_ = true;
    http::response<http::empty_body> res{http::status::ok, version_};
    res.set(http::field::server, "kvtier");
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-cache");
    // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
    chunked_ = version_ >= 11;
    if (!chunked_) keep_alive_ = false;
    res.keep_alive(keep_alive_ && !closing_);
    if (chunked_) res.chunked(true);
    std::ostringstream os;
    os << res.base();
    enqueue(os.str());
  }

  bool write(std::string data) override {
    if (!open_ || !streaming_ || response_complete_) return false;
    if (pending_.size() > server_.config.max_stream_backlog_bytes) {
      spdlog::warn("closing a connection whose client reads too slowly ({} bytes unsent)",
                   pending_.size());
      close();
      return false;
    }
    if (data.empty()) return true;
    if (chunked_) {
      enqueue(beast::buffers_to_string(http::make_chunk(net::buffer(data))));
    } else {
      enqueue(std::move(data));
    }
    return true;
  }

  void end_stream() override {
    if (!open_ || !streaming_ || response_complete_) return;
    response_complete_ = true;
    enqueue(chunked_ ? beast::buffers_to_string(http::make_chunk_last()) : std::string());
  }

  bool is_open() const override { return open_.load(); }

  void post(std::function<void()> fn) override {
    net::post(stream_.get_executor(), std::move(fn));
  }

  void on_disconnect(std::function<void()> fn) override {
    if (!open_) {
      if (fn) fn();
      return;
    }
    disconnect_handler_ = std::move(fn);
  }

 private:
  // Reading ---------------------------------------------------------------------------------
  void read_request() {
    parser_.emplace();
    parser_->header_limit(std::uint32_t(server_.config.max_header_bytes));
    parser_->body_limit(std::uint64_t(server_.config.max_body_bytes));
    arm_read_timer(requests_ == 0 ? server_.config.request_timeout
                                  : server_.config.keep_alive_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    disarm_read_timer();
    if (ec) return on_read_error(ec);
    if (closing_) return close();
    const auto& req = parser_->get();
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, req.version()};
      std::ostringstream os;
      os << cont.base();
      enqueue(os.str());
    }
    arm_read_timer(server_.config.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_request(ec); });
  }

  // Reads run under a timer of the session's own instead of the stream's deadline: Beast's
  // timeout closes the socket, leaving no way to answer 408 to a client that sent part of a
  // request and stalled. The timer cancels the read; its handler runs on the session's strand,
  // and `read_seq_` makes a handler already queued when the read ended do nothing.
  void arm_read_timer(std::chrono::milliseconds after) {
    stream_.expires_never();
    read_timed_out_ = false;
    read_timer_.expires_after(after);
    read_limit_ = after;
    read_timer_.async_wait([self = shared_from_this(), seq = ++read_seq_](beast::error_code ec) {
      if (ec || seq != self->read_seq_ || !self->open_) return;
      self->read_timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }

  void disarm_read_timer() {
    ++read_seq_;
    read_timer_.cancel();
  }

  void on_read_error(beast::error_code ec) {
    if (read_timed_out_) {
      read_timed_out_ = false;
      // An idle connection (nothing of a next request sent) just closes; a request cut short
      // is told why.
      const bool partial = parser_ && (parser_->got_some() || buffer_.size() > 0);
      if (!partial || !open_ || closing_) return close();
      in_exchange_ = true;
      keep_alive_ = false;
      version_ = 11;
      send(error_response(ApiError{
          408, fmt::format("request not received within {} ms", read_limit_.count()), {}}));
      return;
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || !open_) {
      return close();
    }
    // A malformed or oversized request: answer once, then close.
    int status = 400;
    std::string message = "malformed HTTP request: " + ec.message();
    if (ec == http::error::body_limit) {
      status = 413;
      message = "request body too large (the limit is " +
                std::to_string(server_.config.max_body_bytes) + " bytes)";
    } else if (ec == http::error::header_limit) {
      status = 431;
      message = "request headers too large (the limit is " +
                std::to_string(server_.config.max_header_bytes) + " bytes)";
    }
    in_exchange_ = true;
    keep_alive_ = false;
    version_ = 11;
    send(error_response(ApiError{status, std::move(message), {}}));
  }

  void on_request(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    ++requests_;
    auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    version_ = req.version();
    keep_alive_ = req.keep_alive() && !server_.draining.load();
    in_exchange_ = true;
    response_complete_ = false;
    streaming_ = false;
    ++exchange_;
    // A generation may take minutes: writes set their own deadlines.
    stream_.expires_never();
    watch_disconnect();
    RequestHandler handler = server_.current_handler();
    try {
      if (!handler) throw std::runtime_error("no request handler");
      handler(std::move(request), shared_from_this());
    } catch (const std::exception& e) {
      send(error_response(ApiError{500, std::string("internal error: ") + e.what(), {}}));
    }
  }

  // A pending response keeps a wait on the socket: a readable socket that reads as EOF means
  // the client left, and its request must be aborted now rather than at the next write.
  void watch_disconnect() {
    if (watching_ || !open_) return;
    watching_ = true;
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        net::bind_executor(stream_.get_executor(),
                           [self = shared_from_this()](beast::error_code ec) {
                             self->on_readable(ec);
                           }));
  }

  void on_readable(beast::error_code ec) {
    watching_ = false;
    if (!open_ || ec == net::error::operation_aborted) return;
    if (!in_exchange_) return;  // the reader owns the socket again and sees EOF itself
    if (ec) return lost_client();
    char byte;
    beast::error_code peek_ec;
    size_t n = stream_.socket().receive(net::buffer(&byte, 1), tcp::socket::message_peek, peek_ec);
    if (peek_ec == net::error::would_block || peek_ec == net::error::try_again) {
      return watch_disconnect();
    }
    if (peek_ec || n == 0) return lost_client();
    // Data: a pipelined request. It waits in the socket until this response is done.
  }

  // Writing ---------------------------------------------------------------------------------
  void enqueue(std::string bytes) {
    pending_ += bytes;
    if (!writing_) flush();
  }

  void flush() {
    if (pending_.empty()) {
      if (response_complete_) finish_exchange();
      return;
    }
    writing_ = true;
    inflight_.swap(pending_);
    pending_.clear();
    stream_.expires_after(server_.config.write_timeout);
    net::async_write(stream_, net::buffer(inflight_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_write(ec);
                     });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    inflight_.clear();
    stream_.expires_never();
    if (ec) return lost_client();
    if (!open_) return;
    flush();
  }

  void finish_exchange() {
    in_exchange_ = false;
    streaming_ = false;
    disconnect_handler_ = nullptr;
    if (!keep_alive_ || closing_ || server_.draining.load()) return linger_close();
    read_request();
  }

  // Closes our side, then drains what the client still sends (e.g. the body of a refused
  // upload) for a moment: closing with unread data would reset the connection and could destroy
  // the response before the client reads it.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    linger_read();
  }

  void linger_read() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || !self->open_) return self->close();
                              self->linger_read();
                            });
  }

  void lost_client() {
    auto handler = std::move(disconnect_handler_);
    disconnect_handler_ = nullptr;
    close();
    if (handler) handler();
  }

  void close() {
    if (!open_.exchange(false)) return;
    disarm_read_timer();  // its handler holds the session
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    auto handler = std::move(disconnect_handler_);
    disconnect_handler_ = nullptr;
    if (handler && in_exchange_ && !response_complete_) handler();
  }

  beast::tcp_stream stream_;
  net::steady_timer read_timer_;  // the deadline of the read in flight (arm_read_timer)
  uint64_t read_seq_ = 0;
  bool read_timed_out_ = false;
  std::chrono::milliseconds read_limit_{0};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl& server_;
  const uint64_t id_;

  std::atomic<bool> open_{true};
  bool in_exchange_ = false;
  bool response_complete_ = false;
  bool streaming_ = false;
  bool chunked_ = true;
  bool keep_alive_ = true;
  bool closing_ = false;
  bool writing_ = false;
  bool watching_ = false;
  unsigned version_ = 11;
  uint64_t exchange_ = 0;
  uint64_t requests_ = 0;
  std::string pending_;   // bytes queued behind the write in flight
  std::string inflight_;  // bytes being written
  std::function<void()> disconnect_handler_;
  std::array<char, 4096> discard_;
};

void start_session(tcp::socket socket, HttpServer::Impl& server) {
  uint64_t id = server.next_session_id.fetch_add(1);
  auto session = std::make_shared<Session>(std::move(socket), server, id);
  server.add_session(id, session);
  session->start();
}

void close_session_when_idle(const std::shared_ptr<Session>& session) {
  session->close_when_idle();
}

}  // namespace kvtier::server
