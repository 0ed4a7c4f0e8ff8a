#pragma once
// Values as GuideLLM's CLI accepts them: JSON or "key=value,key=value" objects, comma lists of
// numbers, and numbers or objects for warmup/cooldown. Errors name the flag and the key.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kvtier::bench {

// "{...}" is JSON; "a=1,b=x" becomes {"a": 1, "b": "x"} (numbers, true/false/null and quoted
// strings are typed; anything else stays a string).
Expected<nlohmann::json> parse_object_value(std::string_view flag, std::string_view text);
// A JSON scalar ("0.1", "30") or an object as above.
Expected<nlohmann::json> parse_scalar_or_object(std::string_view flag, std::string_view text);
// "5,25,50" (several occurrences concatenate).
Expected<std::vector<double>> parse_number_list(std::string_view flag,
                                                const std::vector<std::string>& values);

// Reads an integer field of `object` if present; rejects non-integers and values below `min`.
Status read_int_field(std::string_view flag, const nlohmann::json& object, const char* key,
                      int64_t min, std::optional<int64_t>& out);
Status read_number_field(std::string_view flag, const nlohmann::json& object, const char* key,
                         double min, std::optional<double>& out);
// Keys of `object` not in `allowed` are an error listing what is accepted.
Status check_keys(std::string_view flag, const nlohmann::json& object,
                  const std::vector<std::string_view>& allowed);

}  // namespace kvtier::bench
