#pragma once
// UTF-8 helpers shared by the tokenizer, the detokenizers and the template interpreter.
#include <cstddef>
#include <string>
#include <string_view>

namespace kvtier::tokenizer {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Byte offset of the first ill-formed sequence, or std::string_view::npos when `s` is valid UTF-8
// (no overlongs, surrogates or code points above U+10FFFF).
size_t find_invalid_utf8(std::string_view s);

// Decodes the code point starting at s[i] and advances i past it. `s` must be valid UTF-8.
char32_t next_code_point(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t cp);
size_t count_code_points(std::string_view s);

// Decodes bytes, replacing each maximal ill-formed subpart with U+FFFD: the policy of Python's
// errors="replace" and Rust's String::from_utf8_lossy, so decode() matches Hugging Face.
std::string utf8_lossy(std::string_view bytes);

// Length of the longest prefix of `bytes` that can be decoded now: everything except a trailing
// sequence that is incomplete but could still become valid with more bytes.
size_t utf8_emittable_prefix(std::string_view bytes);

}  // namespace kvtier::tokenizer
