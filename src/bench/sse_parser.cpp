#include "bench/sse_parser.h"

namespace kvtier::bench {

bool SseParser::feed(std::string_view bytes, const EventFn& on_event) {
  if (failed_) return false;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) {
      partial_.append(bytes.substr(pos));
      if (partial_.size() > kMaxLineBytes) {
        failed_ = true;
        partial_.clear();
        return false;
      }
      break;
    }
    std::string_view line = bytes.substr(pos, nl - pos);
    if (!partial_.empty()) {
      partial_.append(line);
      std::string joined = std::move(partial_);
      partial_.clear();
      handle_line(joined, on_event);
    } else {
      handle_line(line, on_event);
    }
    pos = nl + 1;
  }
  return true;
}

void SseParser::finish(const EventFn& on_event) {
  if (!partial_.empty()) {
    std::string line = std::move(partial_);
    partial_.clear();
    handle_line(line, on_event);
  }
  if (has_data_) handle_line("", on_event);
}

void SseParser::handle_line(std::string_view line, const EventFn& on_event) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    if (has_data_) {
      on_event(data_);
      data_.clear();
      has_data_ = false;
    }
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return;  // event, id, retry: not used by OpenAI streams
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

}  // namespace kvtier::bench
