#pragma once
// The HTTP server's shared state, for http_server.cpp and http_session.cpp only: it brings in
// Asio, which the public header keeps away from its includers.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>

#include "server/http_server.h"

namespace kvtier::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class Session;

struct HttpServer::Impl {
  explicit Impl(HttpServerConfig c) : config(std::move(c)), acceptor(net::make_strand(ioc)) {}

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
  // Accepts connections until the acceptor closes (on the acceptor's executor).
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
  tcp::acceptor acceptor;  // on its own strand: accepts and the close in stop_accepting()
  std::vector<std::thread> threads;
};

// Serves one accepted connection until it closes (http_session.cpp).
void start_session(tcp::socket socket, HttpServer::Impl& server);
// Closes the session now if it is between requests, else once its response is written.
void close_session_when_idle(const std::shared_ptr<Session>& session);

}  // namespace kvtier::server
