#pragma once
// A stand-in for a vLLM endpoint, for the router's tests and benchmarks: answers /health,
// /metrics (vLLM names, with the load a test sets plus its own in-flight requests) and
// /v1/models, and answers completions and chat completions with synthetic text, streamed as SSE
// when the request says "stream": true. Request fields steer the response: "sim_chunks" (events
// before [DONE], default 8), "sim_interval_us" (pause between events), "sim_bytes" (stream this
// many payload bytes instead, in 16 KiB events), "sim_id" (the completion id; equal requests get
// byte-identical responses). Runs its own I/O threads.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace kvtier::router {

class SimEndpoint {
 public:
  // port 0 picks a free port; a fixed port restarts an endpoint where a stopped one was.
  static Expected<std::unique_ptr<SimEndpoint>> start(std::string name, uint16_t port = 0,
                                                      int io_threads = 1);
  ~SimEndpoint();

  // Closes the listener and every connection, as a killed process would.
  void stop();

  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  const std::string& name() const;

  void set_load(double waiting, double running, double kv_usage);
  void set_health_status(int status);
  void set_metrics_status(int status);  // anything but 200 makes its metrics go stale
  void set_block_size(int block_size);

  // POST bodies received, in arrival order.
  std::vector<std::string> request_bodies() const;
  size_t requests() const;
  uint64_t connections() const;         // accepted so far
  int64_t in_flight() const;
  uint64_t stream_bytes_sent() const;   // body bytes written by streamed responses
  uint64_t aborted_streams() const;     // streams whose client went away before the end

  struct State;

 private:
  explicit SimEndpoint(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kvtier::router
