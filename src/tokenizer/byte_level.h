#pragma once
// GPT-2's reversible map between bytes and printable code points: the ByteLevel pre-tokenizer
// writes each byte as one of these characters, and the vocabulary is spelled in them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvtier::tokenizer {

char32_t byte_to_char(uint8_t byte);
std::optional<uint8_t> char_to_byte(char32_t cp);

// The byte-level spelling of raw bytes ("Hello world" -> "HelloĠworld").
std::string to_byte_level(std::string_view bytes);

// The raw bytes a token stands for. A token holding a character outside the alphabet keeps its
// own UTF-8, as Hugging Face's ByteLevel decoder does (this is how added tokens decode).
std::string from_byte_level(std::string_view token);

}  // namespace kvtier::tokenizer
