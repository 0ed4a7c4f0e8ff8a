#include "engine/text_stream.h"

namespace kvtier::engine {

TextStream::TextStream(std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
                       const SamplingParams& params)
    : detokenizer_(tokenizer, params.skip_special_tokens),
      stop_strings_(params.stop),
      stops_(params.stop, params.include_stop_str_in_output),
      text_vocab_(tokenizer->vocab_size()) {}

std::optional<std::string> TextStream::push(int32_t token, bool check_stops, std::string& out) {
  std::string piece = token >= 0 && token < text_vocab_ ? detokenizer_.push(token) : std::string();
  if (!check_stops) {
    out += stops_.flush();
    out += piece;
    return std::nullopt;
  }
  auto r = stops_.push(piece);
  out += r.text;
  if (!r.stop_index) return std::nullopt;
  return stop_strings_[*r.stop_index];
}

void TextStream::finish(std::string& out) {
  auto r = stops_.push(detokenizer_.flush());
  out += r.text;
  if (!r.stop_index) out += stops_.flush();
}

}  // namespace kvtier::engine
