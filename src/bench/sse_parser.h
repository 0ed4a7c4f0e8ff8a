#pragma once
// Incremental Server-Sent Events parser: bytes arrive in arbitrary pieces (a chunk may split a
// line or hold several events); every complete event's data is handed out once.
#include <functional>
#include <string>
#include <string_view>

namespace kvtier::bench {

class SseParser {
 public:
  // Called with the event's data (its "data:" lines joined by '\n').
  using EventFn = std::function<void(std::string_view data)>;

  // Returns false once the buffered partial line would exceed `max_line_bytes` (a broken or
  // hostile stream); the parser then ignores further input.
  bool feed(std::string_view bytes, const EventFn& on_event);
  // Dispatches an event left open when the stream ends without a blank line.
  void finish(const EventFn& on_event);

  static constexpr size_t kMaxLineBytes = 16 << 20;

 private:
  void handle_line(std::string_view line, const EventFn& on_event);

  std::string partial_;  // bytes of a line not yet terminated
  std::string data_;     // data lines of the current event
  bool has_data_ = false;
  bool failed_ = false;
};

}  // namespace kvtier::bench
