#pragma once
// Idle keep-alive connections to each endpoint, reused by later requests: no connect, accept and
// close per request, and no TIME_WAIT pile-up at thousands of requests per second. Connections
// are kept as file descriptors rather than sockets so one opened on one client connection's
// strand can serve another's. Thread-safe.
#include <cstddef>
#include <mutex>
#include <vector>

namespace kvtier::router {

class UpstreamPool {
 public:
  UpstreamPool(size_t num_endpoints, size_t max_idle_per_endpoint);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // An idle connection that the endpoint has not closed, or -1. Most recently used first.
  int acquire(size_t endpoint);
  // Keeps `fd` for reuse, or closes it when the endpoint already has enough idle connections.
  void release(size_t endpoint, int fd);
  // Closes every idle connection to the endpoint (it went down).
  void clear(size_t endpoint);
  size_t idle(size_t endpoint) const;

 private:
  size_t max_idle_;
  mutable std::mutex mu_;                // guards idle_
  std::vector<std::vector<int>> idle_;   // per endpoint, a stack
};

}  // namespace kvtier::router
