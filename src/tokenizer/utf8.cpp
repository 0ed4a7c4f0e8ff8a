#include "tokenizer/utf8.h"

#include <algorithm>
#include <cstdint>

namespace kvtier::tokenizer {
namespace {

// Well-formed sequences (Unicode table 3-7): the number of bytes a lead byte announces and the
// range allowed for the second byte; later bytes are always 80..BF.
struct LeadInfo {
  int length;  // 0: never a lead byte
  uint8_t second_lo;
  uint8_t second_hi;
};

LeadInfo lead_info(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

enum class SeqState { kValid, kInvalid, kTruncated };

// Examines the sequence starting at s[i]; `consumed` is its length when valid, otherwise the
// length of the maximal ill-formed subpart (at least 1).
SeqState examine(std::string_view s, size_t i, size_t& consumed) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  const LeadInfo info = lead_info(b0);
  if (info.length == 0) {
    consumed = 1;
    return SeqState::kInvalid;
  }
  for (int k = 1; k < info.length; ++k) {
    if (i + k >= s.size()) {
      consumed = k;
      return SeqState::kTruncated;
    }
    const auto b = static_cast<uint8_t>(s[i + k]);
    const uint8_t lo = k == 1 ? info.second_lo : 0x80;
    const uint8_t hi = k == 1 ? info.second_hi : 0xBF;
    if (b < lo || b > hi) {
      consumed = k;
      return SeqState::kInvalid;
    }
  }
  consumed = info.length;
  return SeqState::kValid;
}

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    if (examine(s, i, n) != SeqState::kValid) return i;
    i += n;
  }
  return std::string_view::npos;
}

char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  // A sequence cut short by the end of `s` ends there: callers index s up to the new i.
  i = std::min(i + size_t(len), s.size());
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t count_code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t n = 0;
    if (examine(bytes, i, n) == SeqState::kValid) {
      out.append(bytes.substr(i, n));
    } else {
      append_utf8(out, kReplacementChar);
    }
    i += n;
  }
  return out;
}

size_t utf8_emittable_prefix(std::string_view bytes) {
  // A lead byte always starts a new sequence in the decoder, so only a lead byte among the last
  // three bytes can open a truncated sequence.
  const size_t stop = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (size_t i = bytes.size(); i > stop; --i) {
    const auto b = static_cast<uint8_t>(bytes[i - 1]);
    if ((b & 0xC0) == 0x80) continue;
    size_t n = 0;
    return examine(bytes, i - 1, n) == SeqState::kTruncated ? i - 1 : bytes.size();
  }
  return bytes.size();
}

}  // namespace kvtier::tokenizer
