#include "server/http_server.h"

#include <array>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "server/api_error.h"

namespace kvtier::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

struct HttpServer::Impl {
  explicit Impl(HttpServerConfig c) : config(std::move(c)), acceptor(ioc) {}

  RequestHandler current_handler() {
    std::lock_guard lock(handler_mu);
    return handler;
  }
  void add_session(uint64_t id, std::weak_ptr<Session> session) {
    std::lock_guard lock(sessions_mu);
    sessions.emplace(id, std::move(session));
  }
  void remove_session(uint64_t id) {
    std::lock_guard lock(sessions_mu);
    sessions.erase(id);
  }
  void accept();

  // Declared before the io_context so that they outlive it: handlers destroyed with the
  // io_context may release the last reference to a session, which then unregisters itself.
  HttpServerConfig config;
  std::mutex handler_mu;  // guards handler
  RequestHandler handler;
  std::mutex sessions_mu;  // guards sessions
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;
  std::atomic<uint64_t> next_session_id{1};
  std::atomic<int64_t> connections{0};
  std::atomic<bool> draining{false};
  uint16_t bound_port = 0;
  bool stopped = false;

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;  // touched only on its own strand
  std::vector<std::thread> threads;
};

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
      : stream_(std::move(socket)), server_(server), id_(id) {
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
    res.keep_alive(keep_alive_);
    // HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
    chunked_ = version_ >= 11;
    if (chunked_) {
      res.chunked(true);
    } else {
      keep_alive_ = false;
    }
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
    stream_.expires_after(requests_ == 0 ? server_.config.request_timeout
                                         : server_.config.keep_alive_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
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
    stream_.expires_after(server_.config.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_request(ec); });
  }

  void on_read_error(beast::error_code ec) {
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
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    auto handler = std::move(disconnect_handler_);
    disconnect_handler_ = nullptr;
    if (handler && in_exchange_ && !response_complete_) handler();
  }

  beast::tcp_stream stream_;
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

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
      // Out of descriptors or similar: try again shortly instead of spinning.
      auto timer = std::make_shared<net::steady_timer>(acceptor.get_executor(),
                                                        std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) {
        if (acceptor.is_open()) accept();
      });
      return;
    }
    uint64_t id = next_session_id.fetch_add(1);
    auto session = std::make_shared<Session>(std::move(socket), *this, id);
    add_session(id, session);
    session->start();
    accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Expected<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerConfig config,
                                                        RequestHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(config));
  impl->handler = std::move(handler);
  const HttpServerConfig& c = impl->config;
  beast::error_code ec;
  auto address = net::ip::make_address(c.host == "localhost" ? "127.0.0.1" : c.host, ec);
  if (ec) return invalid_argument("--host {}: not an IP address ({})", c.host, ec.message());
  tcp::endpoint endpoint{address, c.port};
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "cannot listen on {}:{}: {}", c.host, c.port,
                      ec.message());
  }
  impl->bound_port = impl->acceptor.local_endpoint().port();
  impl->work.emplace(impl->ioc.get_executor());
  impl->accept();
  for (int i = 0; i < std::max(1, c.io_threads); ++i) {
    impl->threads.emplace_back([raw = impl.get()] {
      for (;;) {
        try {
          raw->ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("HTTP I/O thread: {}", e.what());
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() { shutdown(std::chrono::milliseconds(0)); }

uint16_t HttpServer::port() const { return impl_->bound_port; }

int64_t HttpServer::connections() const { return impl_->connections.load(); }

void HttpServer::set_handler(RequestHandler handler) {
  std::lock_guard lock(impl_->handler_mu);
  impl_->handler = std::move(handler);
}

void HttpServer::stop_accepting() {
  std::promise<void> done;
  auto future = done.get_future();
  net::post(impl_->acceptor.get_executor(), [this, &done] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    done.set_value();
  });
  if (impl_->threads.empty() || impl_->ioc.stopped()) {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    return;
  }
  future.wait();
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  if (impl_->stopped) return;
  impl_->draining = true;
  stop_accepting();
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(impl_->sessions_mu);
    for (auto& [id, weak] : impl_->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->close_when_idle();
  sessions.clear();
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
  impl_->stopped = true;
}

}  // namespace kvtier::server
