#pragma once
// Typed reads of request JSON fields. Absent and null both read as nullopt (as pydantic's
// Optional fields do); a value of the wrong type is an error that names the field and the type.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kvtier::server {

Expected<std::optional<double>> read_number(const nlohmann::ordered_json& object, const char* field);
// Integers; a float with no fractional part is accepted as pydantic does (2.0 -> 2).
Expected<std::optional<int64_t>> read_integer(const nlohmann::ordered_json& object, const char* field);
Expected<std::optional<bool>> read_bool(const nlohmann::ordered_json& object, const char* field);
Expected<std::optional<std::string>> read_string(const nlohmann::ordered_json& object, const char* field);

// A request body as JSON; invalid JSON is an error naming the line and column.
Expected<nlohmann::ordered_json> parse_json_body(const std::string& body);

// "a string", "an array", ... for messages about a JSON value's type.
std::string json_type_phrase(const nlohmann::ordered_json& value);

}  // namespace kvtier::server
