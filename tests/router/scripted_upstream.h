#pragma once
// An endpoint that fails on cue, for the router's failure paths: it answers /health and
// /metrics as a healthy vLLM would, and answers the n-th POST as its script says: a complete
// response, or a connection closed before the response, inside a Content-Length body, or inside
// an SSE event. stop_listening() closes the listener so new connections are refused while the
// router still counts the endpoint as usable. Plain blocking sockets, one thread per connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kvtier::router::testing {

enum class UpstreamAction {
  kRespond,              // 200 with a JSON body, connection kept alive
  kCloseBeforeResponse,  // the request is read, nothing is written
  kCloseMidBody,         // Content-Length: 100, then 10 bytes of it
  kCloseMidEvent,        // an SSE stream: one whole event, then half of the next
};

class ScriptedUpstream {
 public:
  using Script = std::function<UpstreamAction(size_t post_index)>;

  explicit ScriptedUpstream(Script script) : script_(std::move(script)) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, 64) != 0) {
      ::close(listener);
      throw std::runtime_error(std::string("scripted upstream: ") + std::strerror(errno));
    }
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    listener_ = listener;
    acceptor_ = std::thread([this, listener] { accept_loop(listener); });
  }

  ~ScriptedUpstream() {
    stop_listening();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
  }

  // New connections are refused from now on; open ones stay. Test thread only.
  void stop_listening() {
    const int listener = listener_.exchange(-1);
    if (listener < 0) return;
    ::shutdown(listener, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    ::close(listener);
  }

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t posts() const { return posts_.load(); }
  size_t connections() const { return connections_.load(); }

 private:
  void accept_loop(int listener) {
    for (;;) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
      if (fd < 0) return;  // the listener was shut down
      connections_++;
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      open_.insert(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  static bool send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += size_t(n);
    }
    return true;
  }

  static std::string response(const std::string& type, const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  // Reads one request; false when the connection ended first.
  static bool read_request(int fd, std::string& pending, std::string& method, std::string& target) {
    size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      pending.append(buf, size_t(n));
    }
    const std::string head = pending.substr(0, end);
    method = head.substr(0, head.find(' '));
    const size_t target_at = head.find(' ') + 1;
    target = head.substr(target_at, head.find(' ', target_at) - target_at);
    size_t length = 0;
    std::string lower = head;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (const size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::stoul(head.substr(at + 17));
    }
    while (pending.size() < end + 4 + length) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      pending.append(buf, size_t(n));
    }
    pending.erase(0, end + 4 + length);
    return true;
  }

  void serve(int fd) {
    std::string pending, method, target;
    while (read_request(fd, pending, method, target)) {
      if (method == "GET" && target == "/health") {
        if (!send_all(fd, response("text/plain", "OK"))) break;
        continue;
      }
      if (method == "GET" && target == "/metrics") {
        const std::string labels = R"({engine="0",model_name="sim-model"})";
        if (!send_all(fd, response("text/plain; version=0.0.4",
                                   "vllm:num_requests_running" + labels + " 0.0\n" +
                                       "vllm:num_requests_waiting" + labels + " 0.0\n" +
                                       "vllm:kv_cache_usage_perc" + labels + " 0.0\n"))) {
          break;
        }
        continue;
      }
      const UpstreamAction action = script_(posts_++);
      if (action == UpstreamAction::kRespond) {
        if (!send_all(fd, response("application/json", R"({"id":"cmpl-ok","choices":[]})"))) {
          break;
        }
        continue;
      }
      if (action == UpstreamAction::kCloseMidBody) {
        send_all(fd,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                 "{\"id\":\"cm");
      } else if (action == UpstreamAction::kCloseMidEvent) {
        const std::string events = "data: {\"id\":\"a\"}\n\ndata: {\"tru";
        char size[16];
        std::snprintf(size, sizeof size, "%zx", events.size());
        send_all(fd,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n" +
                     std::string(size) + "\r\n" + events + "\r\n");
      }
      break;  // every failure ends with the connection closed
    }
    std::lock_guard lock(mu_);
    open_.erase(fd);
    ::close(fd);
  }

  Script script_;
  std::atomic<int> listener_{-1};
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<size_t> posts_{0};
  std::atomic<size_t> connections_{0};
  std::mutex mu_;  // guards open_, workers_ and stopping_
  std::set<int> open_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

}  // namespace kvtier::router::testing
