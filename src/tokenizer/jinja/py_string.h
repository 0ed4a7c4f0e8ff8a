#pragma once
// Python's str methods over UTF-8 strings, counting and slicing in code points as Python does.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvtier::tokenizer::jinja {

std::vector<std::string_view> code_points(std::string_view s);  // each character's bytes
size_t py_len(std::string_view s);

// chars == nullopt: whitespace (str.isspace).
std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);
std::string py_replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
int64_t py_find(std::string_view s, std::string_view sub, bool reverse);  // in code points, -1 if absent
int64_t py_count(std::string_view s, std::string_view sub);
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string py_swapcase(std::string_view s);
std::string jinja_title(std::string_view s);    // Jinja's |title filter: words split on [-\s({[<]
std::string py_pad(std::string_view s, int64_t width, std::string_view fill, char align);  // '<' '>' '^'
std::string py_zfill(std::string_view s, int64_t width);

}  // namespace kvtier::tokenizer::jinja
