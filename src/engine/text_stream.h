#pragma once
// A request's generated text: incremental detokenization, then stop strings.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/request.h"
#include "tokenizer/stop_matcher.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::engine {

class TextStream {
 public:
  TextStream(std::shared_ptr<const tokenizer::Tokenizer> tokenizer, const SamplingParams& params);

  // Appends a generated token's text to `out`. `check_stops` is false while min_tokens holds stop
  // strings off. Returns the stop string when one completed (the text after it is dropped).
  std::optional<std::string> push(int32_t token, bool check_stops, std::string& out);
  // Appends what is still held back, at the end of the request.
  void finish(std::string& out);

 private:
  tokenizer::IncrementalDetokenizer detokenizer_;
  // What the matcher's stop_index names; requests with empty stop strings never get here
  // (validate_request), so its indices are indices into this list.
  std::vector<std::string> stop_strings_;
  tokenizer::StopMatcher stops_;
  int32_t text_vocab_;  // ids at or above it (model vocabulary padding) have no text
};

}  // namespace kvtier::engine
