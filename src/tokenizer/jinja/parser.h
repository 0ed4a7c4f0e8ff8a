#pragma once
// Parses lexed template segments into a syntax tree, following Jinja2's grammar and operator
// precedence. Everything the interpreter cannot run is refused here, at load time, naming the
// line and the construct: unknown tags, filters, tests, methods and functions.
#include <string_view>

#include "tokenizer/jinja/ast.h"

namespace kvtier::tokenizer::jinja {

// Throws TemplateError carrying the line.
Body parse_template(std::string_view source);

}  // namespace kvtier::tokenizer::jinja
