#pragma once
// Unicode character classes and normalization, each with the meaning the reference gives it:
// Rust's char methods for Hugging Face's added-token flags, Python's str methods for templates.
#include <string>
#include <string_view>

namespace kvtier::tokenizer {

// Rust char::is_whitespace (the White_Space property).
bool is_unicode_whitespace(char32_t cp);
// Rust char::is_alphanumeric() || c == '_': what Hugging Face calls a word character.
bool is_word_char(char32_t cp);
// Python str.isspace(): what str.strip() and str.split() remove.
bool is_python_space(char32_t cp);

// NFC of valid UTF-8 text. Text made only of characters that NFC never changes (ASCII, most
// Latin-1, CJK ideographs, Hangul syllables, kana) is returned without calling utf8proc.
std::string nfc(std::string_view text);

// Python's simple case mappings per code point (str.upper / str.lower, with 'ß' -> "SS").
std::string to_upper(std::string_view text);
std::string to_lower(std::string_view text);
char32_t upper_char(char32_t cp);
char32_t lower_char(char32_t cp);
bool is_cased(char32_t cp);  // has an upper/lower/title case (Python's "cased")
bool is_upper(char32_t cp);
bool is_lower(char32_t cp);
bool is_alnum(char32_t cp);      // Python str.isalnum() per character
bool is_decimal(char32_t cp);    // Python str.isdigit() per character (approximately Nd)
bool is_printable(char32_t cp);  // Python str.isprintable() per character

}  // namespace kvtier::tokenizer
