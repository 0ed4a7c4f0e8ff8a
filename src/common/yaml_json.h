#pragma once
// YAML documents as JSON values, typed by the YAML 1.2 core schema as Python's yaml.safe_load and
// Go's YAML decoders read them: plain true/false (any case form), null, ~ and empty scalars,
// integers and floats (.inf, .nan included) get their types; quoted scalars stay strings. The one
// converter for every YAML file kvtier reads into JSON (picker configs, serve --config, bench
// --data files). Header-only: callers link yaml-cpp themselves.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace kvtier {

// `s` whole as a decimal integer (an optional leading '+').
inline bool yaml_core_int(const std::string& s, int64_t& out) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e && b != e;
}

// `s` whole as a float, YAML's .inf / .nan spellings included.
inline bool yaml_core_double(const std::string& s, double& out) {
  if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == "+.Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == "-.inf" || s == "-.Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (s == ".nan" || s == ".NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out, std::chars_format::general);
  return ec == std::errc() && p == e && b != e;
}

// Json: nlohmann::json or nlohmann::ordered_json (which keeps the file's key order).
template <typename Json>
Json yaml_scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  int64_t i = 0;
  if (yaml_core_int(text, i)) return i;
  double d = 0;
  if (yaml_core_double(text, d)) return d;
  return text;
}

template <typename Json>
Json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return yaml_scalar_to_json<Json>(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(yaml_to_json<Json>(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = yaml_to_json<Json>(kv.second);
      return out;
    }
  }
  return nullptr;
}

}  // namespace kvtier
