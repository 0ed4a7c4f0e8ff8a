#pragma once
// Reads an OpenAI streaming response (chat or text completions) into a RequestRecord: text,
// first/last token times, iterations and the server's usage.
#include <string>
#include <string_view>

#include "bench/request_record.h"
#include "bench/sse_parser.h"

namespace kvtier::bench {

class StreamAccumulator {
 public:
  explicit StreamAccumulator(RequestRecord& record) : record_(record) {}

  // Bytes of the response body, received at `now`.
  void on_body(std::string_view bytes, double now);
  // The body ended (or was cut) at `now`.
  void finish(double now);

  bool saw_done() const { return saw_done_; }
  // An error the server reported inside the stream, or a malformed chunk.
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void on_event(std::string_view data, double now);

  RequestRecord& record_;
  SseParser parser_;
  bool saw_done_ = false;
  std::string error_;
};

// A complete (non-streamed) completion response: text and usage into the record.
void read_completion_response(std::string_view body, double now, RequestRecord& record,
                              std::string& error);

}  // namespace kvtier::bench
