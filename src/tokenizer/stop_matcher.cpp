#include "tokenizer/stop_matcher.h"

namespace kvtier::tokenizer {

StopMatcher::StopMatcher(std::vector<std::string> stops, bool include_stop) : include_stop_(include_stop) {
  for (std::string& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

StopMatcher::Result StopMatcher::push(std::string_view delta) {
  Result result;
  if (stopped_) return result;
  held_.append(delta);
  // The stop string that completes first (smallest end; the longest among those ending there),
  // as if the text had arrived one byte at a time. held_ never contains a whole stop string
  // from earlier calls, so searching it all finds only new matches.
  size_t best_end = std::string::npos;
  size_t best_start = 0;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t at = held_.find(stops_[i]);
    if (at == std::string::npos) continue;
    const size_t end = at + stops_[i].size();
    if (end < best_end || (end == best_end && at < best_start)) {
      best_end = end;
      best_start = at;
      result.stop_index = i;
    }
  }
  if (result.stop_index) {
    stopped_ = true;
    result.text = held_.substr(0, include_stop_ ? best_end : best_start);
    held_.clear();
    return result;
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const std::string& stop : stops_) {
    for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n) {
      if (held_.compare(held_.size() - n, n, stop, 0, n) == 0) {
        keep = n;
        break;
      }
    }
  }
  result.text = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return result;
}

std::string StopMatcher::flush() {
  std::string out = stopped_ ? std::string() : std::move(held_);
  held_.clear();
  return out;
}

}  // namespace kvtier::tokenizer
