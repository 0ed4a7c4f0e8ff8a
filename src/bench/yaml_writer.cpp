#include "bench/yaml_writer.h"

#include <cctype>
#include <string>

namespace kvtier::bench {
namespace {

using Json = nlohmann::json;

std::string scalar(const Json& v) {
  // dump() gives JSON's spelling: numbers, true/false, null and double-quoted strings, all of
  // which YAML reads as the same values. Invalid UTF-8 is replaced, as in benchmarks.json.
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Plain keys where YAML reads them back as the same string; anything else quoted.
std::string key(const std::string& k) {
  bool plain = !k.empty() && (std::isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_');
  for (char c : k) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  static const char* kReserved[] = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"};
  for (const char* r : kReserved) {
    std::string lower;
    for (char c : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    plain = plain && lower != r;
  }
  return plain ? k : scalar(Json(k));
}

bool is_nested(const Json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void write_value(const Json& v, int indent, std::ostream& out);

void write_object(const Json& v, int indent, std::ostream& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& [k, item] : v.items()) {
    out << pad << key(k) << ":";
    if (is_nested(item)) {
      out << "\n";
      write_value(item, indent + 2, out);
    } else {
      out << " " << (item.is_object() ? "{}" : item.is_array() ? "[]" : scalar(item)) << "\n";
    }
  }
}

void write_array(const Json& v, int indent, std::ostream& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  for (const auto& item : v) {
    if (!is_nested(item)) {
      out << pad << "- "
          << (item.is_object()  ? "{}"
              : item.is_array() ? "[]"
                                : scalar(item))
          << "\n";
      continue;
    }
    // "- " then the item's block indented under the dash.
    out << pad << "-\n";
    write_value(item, indent + 2, out);
  }
}

void write_value(const Json& v, int indent, std::ostream& out) {
  if (v.is_object() && !v.empty()) {
    write_object(v, indent, out);
  } else if (v.is_array() && !v.empty()) {
    write_array(v, indent, out);
  } else {
    out << std::string(static_cast<size_t>(indent), ' ')
        << (v.is_object()  ? "{}"
            : v.is_array() ? "[]"
                           : scalar(v))
        << "\n";
  }
}

}  // namespace

void write_yaml(const Json& document, std::ostream& out) {
  out << "---\n";
  write_value(document, 0, out);
}

}  // namespace kvtier::bench
