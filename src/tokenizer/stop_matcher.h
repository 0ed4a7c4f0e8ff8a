#pragma once
// Finds stop strings in streamed text. Fed the text deltas of one request (from the incremental
// detokenizer), it finds any of several stop strings even when one spans deltas, and holds back
// text that could be the start of a stop string, so nothing past a stop is ever emitted.
// One per request; not thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvtier::tokenizer {

class StopMatcher {
 public:
  struct Result {
    std::string text;                  // safe to emit now
    std::optional<size_t> stop_index;  // set once a stop string completed: its index in `stops`
  };

  // Empty stop strings are ignored. With include_stop, emitted text ends with the stop string.
  explicit StopMatcher(std::vector<std::string> stops, bool include_stop = false);

  // After a stop, further calls return nothing.
  Result push(std::string_view delta);
  // The text still held back, at the end of the request (nothing after a stop).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  bool include_stop_;
  bool stopped_ = false;
  std::string held_;
};

}  // namespace kvtier::tokenizer
