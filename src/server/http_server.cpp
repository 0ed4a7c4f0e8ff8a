#include "server/http_server.h"

#include <future>

#include <boost/beast/core/error.hpp>
#include <spdlog/spdlog.h>

#include "server/http_server_impl.h"

namespace kvtier::server {

namespace beast = boost::beast;

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
    start_session(std::move(socket), *this);
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
  for (auto& s : sessions) close_session_when_idle(s);
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
