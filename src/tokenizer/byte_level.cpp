#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

// Printable bytes map to themselves; the others (control characters, space, 0x7F-0xA0, 0xAD)
// take the code points from U+0100 upwards, in byte order.
struct Tables {
  std::array<char32_t, 256> byte_char{};
  std::array<int16_t, 324> char_byte{};  // -1: not in the alphabet
  Tables() {
    char_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      byte_char[b] = c;
      char_byte[c] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) { return tables().byte_char[byte]; }

std::optional<uint8_t> char_to_byte(char32_t cp) {
  if (cp >= tables().char_byte.size()) return std::nullopt;
  const int16_t b = tables().char_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

std::string to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(out, byte_to_char(static_cast<uint8_t>(c)));
  return out;
}

std::string from_byte_level(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    const std::optional<uint8_t> b = char_to_byte(next_code_point(token, i));
    if (!b) return std::string(token);
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

}  // namespace kvtier::tokenizer
