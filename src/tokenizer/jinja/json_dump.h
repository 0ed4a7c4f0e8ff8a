#pragma once
// Python's json.dumps over template values: what the tojson filter prints in transformers
// (ensure_ascii=False, separators ", " and ": " by default, keys in insertion order).
#include <optional>
#include <string>

#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer::jinja {

struct JsonDumpOptions {
  std::optional<std::string> indent;  // None: one line
  std::optional<std::string> item_separator;  // default ", " (one line) or "," (indented)
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

std::string json_dumps(const Value& v, const JsonDumpOptions& options);

}  // namespace kvtier::tokenizer::jinja
