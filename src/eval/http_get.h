#pragma once
// A blocking HTTP/1.0 GET for eval's health checks and /metrics snapshots (loopback or a
// user's deployment); no keep-alive, no TLS.
#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace kvtier::eval {

struct HttpReply {
  int status = 0;
  std::string body;
};

Expected<HttpReply> http_get(const std::string& url, std::chrono::milliseconds timeout);

// `count` different ports on 127.0.0.1 that nothing listens on now (bound to port 0, read
// back, closed).
Expected<std::vector<int>> free_ports(int count);

}  // namespace kvtier::eval
