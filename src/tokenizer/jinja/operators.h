#pragma once
// Python's operators on template values: arithmetic with int/float promotion, sequence
// concatenation and repetition, `in`, slicing and printf-style `%` formatting. Type errors
// throw TemplateError with Python's wording.
#include <cstdint>
#include <optional>

#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

Value add(const Value& a, const Value& b);
Value subtract(const Value& a, const Value& b);
Value multiply(const Value& a, const Value& b);
Value divide(const Value& a, const Value& b);
Value floor_divide(const Value& a, const Value& b);
Value modulo(const Value& a, const Value& b);  // numbers, or "format" % args
Value power(const Value& a, const Value& b);
Value negate(const Value& a);
bool contains(const Value& container, const Value& item);
Value slice_value(const Value& obj, std::optional<int64_t> start, std::optional<int64_t> stop,
                  std::optional<int64_t> step);
std::string percent_format(const std::string& format, const Value& args);

}  // namespace kvtier::tokenizer::jinja
