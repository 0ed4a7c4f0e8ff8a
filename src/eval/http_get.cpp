#include "eval/http_get.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace kvtier::eval {
namespace {

using Clock = std::chrono::steady_clock;

struct Url {
  std::string host;
  std::string port = "80";
  std::string path = "/";
};

Expected<Url> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return invalid_argument("'{}' is not an http:// URL", url);
  Url u;
  std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    u.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    u.port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty() && rest.front() == '[' && rest.back() == ']') rest = rest.substr(1, rest.size() - 2);
  u.host = rest;
  if (u.host.empty()) return invalid_argument("'{}' names no host", url);
  return u;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? int(left.count()) : 0;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Expected<HttpReply> http_get(const std::string& url, std::chrono::milliseconds timeout) {
  KVTIER_ASSIGN_OR_RETURN(Url u, parse_url(url));
  const auto deadline = Clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &found); rc != 0) {
    return make_error(ErrorCode::kUnavailable, "{}: cannot resolve {}: {}", url, u.host,
                      ::gai_strerror(rc));
  }
  Fd sock(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int rc = sock.get() < 0 ? -1 : ::connect(sock.get(), found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0 && errno != EINPROGRESS) {
    return make_error(ErrorCode::kUnavailable, "{}: connect: {}", url, std::strerror(errno));
  }
  pollfd p{sock.get(), POLLOUT, 0};
  if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
    return make_error(ErrorCode::kUnavailable, "{}: connect timed out", url);
  }
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return make_error(ErrorCode::kUnavailable, "{}: connect: {}", url, std::strerror(err));

  const std::string request = "GET " + u.path + " HTTP/1.0\r\nHost: " + u.host + ":" + u.port +
                              "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    pollfd w{sock.get(), POLLOUT, 0};
    if (::poll(&w, 1, remaining_ms(deadline)) <= 0) {
      return make_error(ErrorCode::kUnavailable, "{}: send timed out", url);
    }
    ssize_t n = ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return make_error(ErrorCode::kUnavailable, "{}: send: {}", url, std::strerror(errno));
    }
    if (n > 0) sent += size_t(n);
  }
  std::string raw;
  char buffer[16384];
  for (;;) {
    pollfd r{sock.get(), POLLIN, 0};
    int ready = ::poll(&r, 1, remaining_ms(deadline));
    if (ready == 0) return make_error(ErrorCode::kUnavailable, "{}: no full reply in time", url);
    if (ready < 0 && errno != EINTR) break;
    ssize_t n = ::recv(sock.get(), buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return make_error(ErrorCode::kUnavailable, "{}: recv: {}", url, std::strerror(errno));
    }
    raw.append(buffer, size_t(n));
  }
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || head_end == std::string::npos) {
    return make_error(ErrorCode::kUnavailable, "{}: not an HTTP reply", url);
  }
  HttpReply reply;
  const size_t space = raw.find(' ');
  reply.status = std::atoi(raw.c_str() + space + 1);
  reply.body = raw.substr(head_end + 4);
  return reply;
}

Expected<std::vector<int>> free_ports(int count) {
  // All sockets stay bound until every port is read, so the ports differ from each other.
  std::vector<std::unique_ptr<Fd>> held;
  std::vector<int> ports;
  for (int i = 0; i < count; ++i) {
    auto sock = std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock->get() < 0) return internal_error("socket: {}", std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(sock->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return internal_error("bind 127.0.0.1:0: {}", std::strerror(errno));
    }
    socklen_t len = sizeof(addr);
    ::getsockname(sock->get(), reinterpret_cast<sockaddr*>(&addr), &len);
    ports.push_back(int(ntohs(addr.sin_port)));
    held.push_back(std::move(sock));
  }
  return ports;
}

}  // namespace kvtier::eval
