#include "bench/cli_values.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace kvtier::bench {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

nlohmann::json typed_value(std::string_view raw) {
  raw = trim(raw);
  if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') && raw.back() == raw.front()) {
    return std::string(raw.substr(1, raw.size() - 2));
  }
  auto parsed = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_boolean() || parsed.is_null())) {
    return parsed;
  }
  if (raw == "True") return true;
  if (raw == "False") return false;
  if (raw == "None") return nullptr;
  return std::string(raw);
}

}  // namespace

Expected<nlohmann::json> parse_object_value(std::string_view flag, std::string_view text) {
  std::string_view t = trim(text);
  if (t.empty()) return invalid_argument("{}: empty value", flag);
  if (t.front() == '{') {
    auto parsed = nlohmann::json::parse(t, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return invalid_argument("{}: malformed JSON: {}", flag, text);
    return parsed;
  }
  nlohmann::json object = nlohmann::json::object();
  size_t pos = 0;
  while (pos <= t.size()) {
    size_t comma = t.find(',', pos);
    if (comma == std::string_view::npos) comma = t.size();
    std::string_view item = trim(t.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) {
      if (comma == t.size()) break;
      return invalid_argument("{}: empty item in '{}'", flag, text);
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return invalid_argument("{}: '{}' is not key=value (in '{}'); give JSON or key=value pairs",
                              flag, item, text);
    }
    std::string key(trim(item.substr(0, eq)));
    if (key.empty()) return invalid_argument("{}: empty key in '{}'", flag, text);
    object[key] = typed_value(item.substr(eq + 1));
    if (comma == t.size()) break;
  }
  return object;
}

Expected<nlohmann::json> parse_scalar_or_object(std::string_view flag, std::string_view text) {
  std::string_view t = trim(text);
  auto parsed = nlohmann::json::parse(t, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_null())) return parsed;
  return parse_object_value(flag, text);
}

Expected<std::vector<double>> parse_number_list(std::string_view flag,
                                                const std::vector<std::string>& values) {
  std::vector<double> out;
  for (const auto& value : values) {
    std::string_view v = value;
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string_view::npos) comma = v.size();
      std::string_view item = trim(v.substr(pos, comma - pos));
      pos = comma + 1;
      if (item.empty()) return invalid_argument("{}: empty entry in '{}'", flag, value);
      double number = 0;
      auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), number);
      if (ec != std::errc() || ptr != item.data() + item.size() || !std::isfinite(number)) {
        return invalid_argument("{}: '{}' is not a number (in '{}')", flag, item, value);
      }
      out.push_back(number);
      if (comma == v.size()) break;
    }
  }
  return out;
}

Status read_int_field(std::string_view flag, const nlohmann::json& object, const char* key,
                      int64_t min, std::optional<int64_t>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::ok();
  int64_t value = 0;
  if (it->is_number_integer()) {
    value = it->get<int64_t>();
  } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()) {
    value = static_cast<int64_t>(it->get<double>());
  } else {
    return invalid_argument("{}: {} must be an integer, got {}", flag, key, it->dump());
  }
  if (value < min) return invalid_argument("{}: {} must be >= {}, got {}", flag, key, min, value);
  out = value;
  return Status::ok();
}

Status read_number_field(std::string_view flag, const nlohmann::json& object, const char* key,
                         double min, std::optional<double>& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::ok();
  if (!it->is_number()) {
    return invalid_argument("{}: {} must be a number, got {}", flag, key, it->dump());
  }
  const double value = it->get<double>();
  if (value < min) return invalid_argument("{}: {} must be >= {}, got {}", flag, key, min, value);
  out = value;
  return Status::ok();
}

Status check_keys(std::string_view flag, const nlohmann::json& object,
                  const std::vector<std::string_view>& allowed) {
  if (!object.is_object()) {
    return invalid_argument("{}: expected an object, got {}", flag, object.dump());
  }
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return invalid_argument("{}: unknown key '{}' (accepted: {})", flag, key, list);
    }
  }
  return Status::ok();
}

}  // namespace kvtier::bench
