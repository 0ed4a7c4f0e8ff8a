#include "bench/stream_accumulator.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace kvtier::bench {
namespace {

// Chat puts text in choices[0].delta.content (or .message.content); text completions in
// choices[0].text. Reasoning text counts as generated text, as GuideLLM's first token does.
std::string_view choice_text(const nlohmann::json& chunk) {
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return {};
  const auto& choice = (*choices)[0];
  if (!choice.is_object()) return {};
  for (const char* holder : {"delta", "message"}) {
    auto h = choice.find(holder);
    if (h == choice.end() || !h->is_object()) continue;
    for (const char* key : {"content", "reasoning_content", "reasoning"}) {
      auto c = h->find(key);
      if (c != h->end() && c->is_string() && !c->get_ref<const std::string&>().empty()) {
        return c->get_ref<const std::string&>();
      }
    }
  }
  auto text = choice.find("text");
  if (text != choice.end() && text->is_string()) return text->get_ref<const std::string&>();
  return {};
}

void read_usage(const nlohmann::json& chunk, RequestRecord& record) {
  auto usage = chunk.find("usage");
  if (usage == chunk.end() || !usage->is_object()) return;
  if (auto p = usage->find("prompt_tokens"); p != usage->end() && p->is_number_integer()) {
    record.prompt_tokens = p->get<int64_t>();
  }
  if (auto c = usage->find("completion_tokens"); c != usage->end() && c->is_number_integer()) {
    record.output_tokens = c->get<int64_t>();
  }
  if (auto d = usage->find("prompt_tokens_details"); d != usage->end() && d->is_object()) {
    if (auto cached = d->find("cached_tokens"); cached != d->end() && cached->is_number_integer()) {
      record.cached_tokens = cached->get<int64_t>();
    }
  }
}

std::string error_message(const nlohmann::json& chunk) {
  auto e = chunk.find("error");
  if (e == chunk.end() || e->is_null()) return {};
  if (e->is_object()) {
    auto m = e->find("message");
    if (m != e->end() && m->is_string()) return m->get<std::string>();
  }
  if (e->is_string()) return e->get<std::string>();
  return e->dump();
}

}  // namespace

void StreamAccumulator::on_body(std::string_view bytes, double now) {
  const bool ok = parser_.feed(bytes, [&](std::string_view data) { on_event(data, now); });
  if (!ok && error_.empty()) error_ = "stream line longer than 16 MiB";
}

void StreamAccumulator::finish(double now) {
  parser_.finish([&](std::string_view data) { on_event(data, now); });
}

namespace {

// Reads one OpenAI chunk through nlohmann's SAX interface: only the fields the record needs
// are kept, nothing else is allocated (a DOM per chunk dominated the client's CPU time).
class ChunkReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  // What one chunk says.
  std::string id;
  std::string text;  // choices[0].delta.content / .reasoning_content / .reasoning, or .text
  std::string error;
  bool has_error = false;
  std::optional<int64_t> prompt_tokens, completion_tokens, cached_tokens;

  bool null() override {
    if (depth_ == 1 && key_is(0, "error")) has_error = false;  // "error": null is no error
    return value_seen();
  }
  bool boolean(bool) override { return value_seen(); }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<int64_t>(v)); }
  bool number_float(number_float_t, const string_t&) override { return value_seen(); }
  bool binary(binary_t&) override { return value_seen(); }
  bool string(string_t& v) override {
    if (depth_ == 1 && key_is(0, "id")) {
      id = v;
    } else if (key_is(0, "error") && (depth_ == 1 || (depth_ == 2 && key_is(1, "message")))) {
      error = v;
    } else if (!v.empty() && text.empty() && in_first_choice()) {
      // choices[0].text, or choices[0].{delta,message}.{content,reasoning_content,reasoning}
      if ((depth_ == 3 && key_is(2, "text")) ||
          (depth_ == 4 && (key_is(2, "delta") || key_is(2, "message")) &&
           (key_is(3, "content") || key_is(3, "reasoning_content") || key_is(3, "reasoning")))) {
        text = v;
      }
    }
    return value_seen();
  }
  bool start_object(std::size_t) override { return open(false); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (depth_ <= kMaxDepth) frames_[depth_ - 1].key = k;
    if (depth_ == 1 && k == "error") has_error = true;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  static constexpr int kMaxDepth = 6;
  struct Frame {
    bool array = false;
    int64_t index = -1;  // arrays: the element being read
    std::string key;     // objects: the key being read
  };

  bool key_is(int level, std::string_view k) const {
    return level < kMaxDepth && !frames_[level].array && frames_[level].key == k;
  }
  bool in_first_choice() const {
    return depth_ >= 3 && key_is(0, "choices") && frames_[1].array && frames_[1].index == 0;
  }
  // An element starts inside an array: count it.
  void element() {
    if (depth_ >= 1 && depth_ <= kMaxDepth && frames_[depth_ - 1].array) {
      ++frames_[depth_ - 1].index;
    }
  }
  bool value_seen() {
    element();
    return true;
  }
  bool number(int64_t v) {
    if (depth_ == 2 && key_is(0, "usage")) {
      if (key_is(1, "prompt_tokens")) prompt_tokens = v;
      if (key_is(1, "completion_tokens")) completion_tokens = v;
    } else if (depth_ == 3 && key_is(0, "usage") && key_is(1, "prompt_tokens_details") &&
               key_is(2, "cached_tokens")) {
      cached_tokens = v;
    }
    return value_seen();
  }
  bool open(bool array) {
    element();
    if (depth_ < kMaxDepth) frames_[depth_] = Frame{array, -1, {}};
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  Frame frames_[kMaxDepth];
  int depth_ = 0;
};

}  // namespace

void StreamAccumulator::on_event(std::string_view data, double now) {
  if (saw_done_) return;
  if (data == "[DONE]") {
    saw_done_ = true;
    return;
  }
  ++record_.request_iterations;
  ChunkReader chunk;
  const bool ok = nlohmann::json::sax_parse(data, &chunk, nlohmann::json::input_format_t::json,
                                            /*strict=*/true);
  if (!ok) {
    if (error_.empty()) error_ = "malformed stream chunk: " + std::string(data.substr(0, 200));
    return;
  }
  if (chunk.has_error) {
    if (error_.empty()) {
      error_ = "server error in stream: " +
               (chunk.error.empty() ? std::string(data.substr(0, 200)) : chunk.error);
    }
    return;
  }
  if (record_.response_id.empty() && !chunk.id.empty()) record_.response_id = chunk.id;
  if (!chunk.text.empty()) {
    if (!record_.first_token) record_.first_token = now;
    record_.last_token = now;
    ++record_.token_iterations;
    record_.output.append(chunk.text);
  }
  if (chunk.prompt_tokens) record_.prompt_tokens = chunk.prompt_tokens;
  if (chunk.completion_tokens) record_.output_tokens = chunk.completion_tokens;
  if (chunk.cached_tokens) record_.cached_tokens = chunk.cached_tokens;
}

void read_completion_response(std::string_view body, double now, RequestRecord& record,
                              std::string& error) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    error = "malformed completion response: " + std::string(body.substr(0, 200));
    return;
  }
  if (std::string message = error_message(json); !message.empty()) {
    error = "server error: " + message;
    return;
  }
  std::string_view text = choice_text(json);
  if (!text.empty()) {
    record.first_token = now;
    record.last_token = now;
    record.token_iterations = 1;
    record.output.assign(text);
  }
  if (auto id = json.find("id"); id != json.end() && id->is_string()) {
    record.response_id = id->get<std::string>();
  }
  record.request_iterations = 1;
  read_usage(json, record);
}

}  // namespace kvtier::bench
