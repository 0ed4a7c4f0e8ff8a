#pragma once
// Jinja2's filters, tests and globals, and the Python methods of str and dict that chat
// templates call, as the interpreter's lookup tables.
#include <string_view>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

FilterFn find_filter(std::string_view name);  // nullptr when unknown
TestFn find_test(std::string_view name);      // nullptr when unknown
bool is_known_method(std::string_view name);  // a method some value kind has
bool is_global_function(std::string_view name);

// `obj.name` and `obj[key]` with Jinja's rules: an attribute that is missing is Undefined (using
// it may fail later), an attribute of Undefined fails now.
Value get_attribute(const Value& obj, std::string_view name);
Value get_item(const Value& obj, const Value& key);

// range, namespace, dict, raise_exception, strftime_now.
void install_globals(Frame& frame);

}  // namespace kvtier::tokenizer::jinja
