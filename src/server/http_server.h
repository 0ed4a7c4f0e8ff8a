#pragma once
// The HTTP/1.1 transport (Boost.Beast): keep-alive, one strand per connection, read timeouts, a
// request body limit (413), a bound on each stream's unsent bytes, chunked SSE responses, and
// disconnect detection while a response is pending. io_context::run() runs on N threads. The
// header keeps Beast and Asio out of its includers.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/http_message.h"

namespace kvtier::server {

struct HttpServerConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;  // 0: any free port (tests)
  int io_threads = 2;
  size_t max_body_bytes = size_t(32) << 20;
  size_t max_header_bytes = size_t(64) << 10;
  std::chrono::milliseconds request_timeout{60'000};    // to read one request once it began
  std::chrono::milliseconds keep_alive_timeout{5'000};  // idle time between requests
  std::chrono::milliseconds write_timeout{60'000};      // for each write to make progress
  size_t max_stream_backlog_bytes = size_t(16) << 20;   // unsent bytes before a reader is dropped
  size_t max_connections = 16384;                       // beyond: 503 and close
};

// Responders handed to the handler belong to this server's I/O context: whoever keeps one (an
// engine sink, say) must release it before the server is destroyed: stop the engine first.
class HttpServer {
 public:
  // Binds, listens and starts the I/O threads.
  static Expected<std::unique_ptr<HttpServer>> start(HttpServerConfig config,
                                                     RequestHandler handler);
  ~HttpServer();

  uint16_t port() const;
  int64_t connections() const;
  // Requests read from now on go to this handler (e.g. the API once the engine is up).
  void set_handler(RequestHandler handler);
  // Closes the listening socket: new connections are refused.
  void stop_accepting();
  // Stops accepting, closes idle connections, lets busy ones finish their response (up to
  // `grace`), then stops the I/O threads. Handlers still queued are destroyed with the server.
  void shutdown(std::chrono::milliseconds grace);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvtier::server
