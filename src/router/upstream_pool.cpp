#include "router/upstream_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kvtier::router {
namespace {

// Idle means open with nothing to read: a closed connection reads 0 bytes (EOF), and unexpected
// bytes mean the connection is out of step.
bool still_idle(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

UpstreamPool::UpstreamPool(size_t num_endpoints, size_t max_idle_per_endpoint)
    : max_idle_(max_idle_per_endpoint), idle_(num_endpoints) {}

UpstreamPool::~UpstreamPool() {
  for (auto& fds : idle_) {
    for (int fd : fds) ::close(fd);
  }
}

int UpstreamPool::acquire(size_t endpoint) {
  while (true) {
    int fd = -1;
    {
      std::lock_guard lock(mu_);
      auto& fds = idle_[endpoint];
      if (fds.empty()) return -1;
      fd = fds.back();
      fds.pop_back();
    }
    if (still_idle(fd)) return fd;
    ::close(fd);
  }
}

void UpstreamPool::release(size_t endpoint, int fd) {
  {
    std::lock_guard lock(mu_);
    auto& fds = idle_[endpoint];
    if (fds.size() < max_idle_) {
      fds.push_back(fd);
      return;
    }
  }
  ::close(fd);
}

void UpstreamPool::clear(size_t endpoint) {
  std::vector<int> fds;
  {
    std::lock_guard lock(mu_);
    fds.swap(idle_[endpoint]);
  }
  for (int fd : fds) ::close(fd);
}

size_t UpstreamPool::idle(size_t endpoint) const {
  std::lock_guard lock(mu_);
  return idle_[endpoint].size();
}

}  // namespace kvtier::router
