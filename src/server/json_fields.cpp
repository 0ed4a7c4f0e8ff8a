#include "server/json_fields.h"

#include <cmath>
#include <limits>

namespace kvtier::server {
namespace {

const nlohmann::ordered_json* find_field(const nlohmann::ordered_json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string json_type_phrase(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::null: return "null";
    case nlohmann::ordered_json::value_t::object: return "an object";
    case nlohmann::ordered_json::value_t::array: return "an array";
    case nlohmann::ordered_json::value_t::string: return "a string";
    case nlohmann::ordered_json::value_t::boolean: return "a boolean";
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned: return "an integer";
    case nlohmann::ordered_json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

Expected<std::optional<double>> read_number(const nlohmann::ordered_json& object, const char* field) {
  const nlohmann::ordered_json* v = find_field(object, field);
  if (!v) return std::optional<double>();
  if (!v->is_number()) {
    return invalid_argument("{} must be a number, got {}", field, json_type_phrase(*v));
  }
  return std::optional<double>(v->get<double>());
}

Expected<std::optional<int64_t>> read_integer(const nlohmann::ordered_json& object, const char* field) {
  const nlohmann::ordered_json* v = find_field(object, field);
  if (!v) return std::optional<int64_t>();
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
      return invalid_argument("{} is too large: {}", field, v->get<uint64_t>());
    }
    return std::optional<int64_t>(v->get<int64_t>());
  }
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return std::optional<int64_t>(int64_t(d));
    }
    return invalid_argument("{} must be an integer, got {}", field, v->dump());
  }
  return invalid_argument("{} must be an integer, got {}", field, json_type_phrase(*v));
}

Expected<std::optional<bool>> read_bool(const nlohmann::ordered_json& object, const char* field) {
  const nlohmann::ordered_json* v = find_field(object, field);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) {
    return invalid_argument("{} must be a boolean, got {}", field, json_type_phrase(*v));
  }
  return std::optional<bool>(v->get<bool>());
}

Expected<std::optional<std::string>> read_string(const nlohmann::ordered_json& object,
                                                 const char* field) {
  const nlohmann::ordered_json* v = find_field(object, field);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) {
    return invalid_argument("{} must be a string, got {}", field, json_type_phrase(*v));
  }
  return std::optional<std::string>(v->get<std::string>());
}

Expected<nlohmann::ordered_json> parse_json_body(const std::string& body) {
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!parsed.is_discarded()) return parsed;
  // Parse again for the message that names the position.
  try {
    nlohmann::ordered_json strict = nlohmann::ordered_json::parse(body);
    (void)strict;
  } catch (const nlohmann::ordered_json::exception& e) {  // out_of_range for a number like 1e999
    std::string what = e.what();
    size_t bracket = what.find("] ");
    return invalid_argument("Invalid JSON in the request body: {}",
                            bracket == std::string::npos ? what : what.substr(bracket + 2));
  }
  return invalid_argument("Invalid JSON in the request body");
}

}  // namespace kvtier::server
