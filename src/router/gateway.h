#pragma once
// `kvtier route`: an HTTP gateway in front of OpenAI-compatible endpoints. Each request is
// scheduled (router/scheduler.h) onto one endpoint and proxied there; the response streams back
// unchanged (SSE included, read from the endpoint no faster than the client drains it) with the
// chosen endpoint in `x-gateway-destination-endpoint`. /health, /metrics and (with model names
// configured) /v1/models are answered by the router. Endpoints are scraped for load and health;
// a connection refused before anything was sent is retried on the next endpoint in the order.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "router/endpoint.h"
#include "router/picker_config.h"
#include "router/prompt_reader.h"

namespace kvtier::router {

class EndpointPool;
class RouterMetrics;
class Scheduler;

struct GatewayOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;  // 0 picks a free port (see Gateway::port())
  std::vector<EndpointAddress> endpoints;
  EndpointPickerConfig picker_config = default_picker_config();
  // Reads prompts into tokens for the prefix scorers; null routes on load only.
  std::shared_ptr<const PromptReader> prompt_reader;
  std::vector<std::string> served_model_names;  // answer /v1/models locally when set

  std::chrono::milliseconds scrape_interval{50};
  std::chrono::milliseconds stale_after{2000};
  std::chrono::milliseconds health_interval{1000};
  std::chrono::milliseconds scrape_timeout{1000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds upstream_timeout{600'000};  // max wait for the endpoint's next bytes
  std::chrono::milliseconds client_timeout{300'000};    // slow request body or slow reader
  // A request header (or, between requests, the next one) must arrive within this: an idle or
  // slow client holds a file descriptor. Answered 408 when part of a header came.
  std::chrono::milliseconds header_timeout{30'000};
  // Client connections open at once; more are answered 503 and closed, so idle clients cannot
  // take every file descriptor.
  size_t max_connections = 4096;
  std::chrono::milliseconds shutdown_timeout{30'000};
  size_t max_body_bytes = 32 << 20;
  int max_attempts = 3;      // endpoints tried per request when connections are refused
  // Idle keep-alive connections kept per endpoint: as many as streams end at once, or the rest
  // reconnect for every request.
  size_t max_idle_upstream = 1024;
  int io_threads = 0;        // 0: one per core, at most 4
  int prompt_threads = 2;    // JSON parsing and tokenization, off the I/O threads
  // Bodies up to this size are parsed and tokenized on the I/O thread: cheaper than the hop to
  // the prompt threads and back (tens of microseconds each way).
  size_t inline_prompt_bytes = 2048;
  uint64_t seed = 0;         // 0: random tie-breaks seeded from the OS
};

class Gateway {
 public:
  // Checks the config, resolves the endpoints and binds the listening socket.
  static Expected<std::unique_ptr<Gateway>> create(GatewayOptions options);
  ~Gateway();

  uint16_t port() const;
  // Starts the I/O threads, scrapers and the acceptor; returns at once.
  void start();
  // start(), then blocks until SIGINT/SIGTERM or stop(); drains in-flight requests (up to
  // shutdown_timeout) before returning.
  void run();
  // Stops accepting, waits for in-flight requests (up to shutdown_timeout), stops the threads.
  // Safe to call from any thread, more than once.
  void stop();

  EndpointPool& endpoints();
  Scheduler& scheduler();
  RouterMetrics& metrics();
  // CPU time used so far by the I/O threads (proxying, scraping, scheduling, short prompts).
  double io_cpu_seconds() const;

  struct State;

 private:
  explicit Gateway(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kvtier::router
