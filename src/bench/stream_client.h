#pragma once
// Asynchronous HTTP/1.1 client for streamed completions: a few io threads ("lanes"), each with
// its own keep-alive connections, hold thousands of requests in flight. Each response body is
// read as it arrives and timestamped per read, so first/last token times are exact.
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "bench/http_target.h"
#include "bench/request_record.h"
#include "common/status.h"

namespace kvtier::bench {

struct StreamCall {
  std::string route;  // e.g. "/v1/chat/completions"
  std::string body;   // JSON
  bool stream = true;
  RequestRecord record;
  // Set once the benchmark stops: calls still running become incomplete, new ones never start.
  std::shared_ptr<const std::atomic<bool>> stop;
  // Runs on the lane's thread with the finished record (successful, incomplete or errored).
  std::function<void(RequestRecord&&)> done;
};

class StreamClient {
 public:
  static Expected<std::unique_ptr<StreamClient>> create(const HttpTarget& target,
                                                        const HttpOptions& options, int lanes);
  ~StreamClient();
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  int lanes() const;
  // Thread-safe. The call runs on lane `lane % lanes()`.
  void submit(size_t lane, std::unique_ptr<StreamCall> call);
  // Thread-safe: closes every connection with a request in flight (their calls finish as
  // incomplete). Callers set the calls' stop flag first so nothing new starts.
  void cancel_in_flight();
  // CPU time (user + system) the lanes' threads have used so far.
  double cpu_seconds() const;

 private:
  struct Impl;
  explicit StreamClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Raises this process's open-file limit to its hard limit: every stream holds a socket.
void raise_open_file_limit();

}  // namespace kvtier::bench
