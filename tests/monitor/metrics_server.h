#pragma once
// A scripted /metrics endpoint on 127.0.0.1 (port chosen by the OS): reply N is what the
// script returns for the N-th request (from 0), sent after its delay. One connection at a time
// on the server's own thread, which is all a monitor's one scrape per interval needs.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace kvtier::monitor::testing {

struct MetricsReply {
  MetricsReply(std::string body, std::chrono::milliseconds delay = {}, int status = 200)
      : body(std::move(body)), delay(delay), status(status) {}
  // These bytes go out as they are instead of an HTTP reply.
  static MetricsReply raw_bytes(std::string bytes) {
    MetricsReply r("");
    r.raw = std::move(bytes);
    return r;
  }

  std::string body;
  std::chrono::milliseconds delay{0};
  int status = 200;
  std::string raw;
};

class MetricsServer {
 public:
  explicit MetricsServer(std::function<MetricsReply(int index)> script)
      : script_(std::move(script)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~MetricsServer() {
    stopping_ = true;
    boost::system::error_code ec;
    // Wakes the blocking accept with a connection of our own.
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
    for (auto& t : connections_) t.join();
  }

  int port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/metrics"; }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stopping_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      connections_.emplace_back([this, s = std::move(socket)]() mutable { answer(s); });
    }
  }

  void answer(boost::asio::ip::tcp::socket& socket) {
    namespace http = boost::beast::http;
    boost::system::error_code ec;
    {  // one request, one reply, then the connection closes
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      const MetricsReply reply = script_(requests_++);
      std::this_thread::sleep_for(reply.delay);
      if (!reply.raw.empty()) {
        boost::asio::write(socket, boost::asio::buffer(reply.raw), ec);
        socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
        return;
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = reply.body;
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  std::function<MetricsReply(int)> script_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
  std::vector<std::thread> connections_;  // touched by the accepting thread, then the destructor
};

}  // namespace kvtier::monitor::testing
