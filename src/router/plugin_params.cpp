#include "router/plugin_params.h"

#include <cmath>

#include <spdlog/spdlog.h>

namespace kvtier::router {

PluginParams::PluginParams(const PluginSpec& spec)
    : PluginParams(fmt::format("'{}' ({})", spec.name, spec.type), "",
                   spec.parameters.is_object() ? &spec.parameters : nullptr) {}

PluginParams::PluginParams(std::string plugin_name, std::string path, const nlohmann::json* object)
    : plugin_name_(std::move(plugin_name)),
      path_(std::move(path)),
      object_(object ? *object : nlohmann::json::object()) {}

std::string PluginParams::key_path(std::string_view key) const {
  return path_ + std::string(key);
}

bool PluginParams::has(std::string_view key) const {
  auto it = object_.find(std::string(key));
  return it != object_.end() && !it->is_null();
}

const nlohmann::json* PluginParams::find(std::string_view key) {
  read_.insert(std::string(key));
  auto it = object_.find(std::string(key));
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json* PluginParams::raw(std::string_view key) { return find(key); }

Status PluginParams::error(std::string_view key, std::string_view what) const {
  return invalid_argument("plugin {}: parameter '{}' {}", plugin_name_, key_path(key), what);
}

Expected<int64_t> PluginParams::integer(std::string_view key, int64_t fallback, int64_t min,
                                        int64_t max) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  int64_t value = 0;
  if (v->is_number_integer()) {
    value = v->get<int64_t>();
  } else if (v->is_number_float() && std::nearbyint(v->get<double>()) == v->get<double>() &&
             std::abs(v->get<double>()) < 9e18) {
    value = static_cast<int64_t>(v->get<double>());
  } else {
    return error(key, fmt::format("must be an integer, got {}", v->dump()));
  }
  if (value < min || value > max) {
    if (max == INT64_MAX) return error(key, fmt::format("must be >= {}, got {}", min, value));
    return error(key, fmt::format("must be in [{}, {}], got {}", min, max, value));
  }
  return value;
}

Expected<double> PluginParams::number(std::string_view key, double fallback, double min,
                                      double max) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) return error(key, fmt::format("must be a number, got {}", v->dump()));
  const double value = v->get<double>();
  if (!(value >= min && value <= max)) {
    return error(key, fmt::format("must be in [{}, {}], got {}", min, max, value));
  }
  return value;
}

Expected<bool> PluginParams::boolean(std::string_view key, bool fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) return error(key, fmt::format("must be true or false, got {}", v->dump()));
  return v->get<bool>();
}

Expected<std::string> PluginParams::string(std::string_view key, std::string fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (v->is_string()) return v->get<std::string>();
  // YAML gives numbers for unquoted digits (hashSeed: 12345); llm-d's strings accept them too.
  if (v->is_number()) return v->dump();
  return error(key, fmt::format("must be a string, got {}", v->dump()));
}

Expected<PluginParams> PluginParams::section(std::string_view key) {
  const nlohmann::json* v = find(key);
  if (v && !v->is_object()) return error(key, fmt::format("must be a map, got {}", v->dump()));
  return PluginParams(plugin_name_, key_path(key) + ".", v);
}

void PluginParams::warn_unread() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (!read_.count(it.key())) {
      spdlog::warn("plugin {}: parameter '{}' is not used by kvtier route", plugin_name_,
                   key_path(it.key()));
    }
  }
}

}  // namespace kvtier::router
