#pragma once
// Typed reads of one plugin's `parameters`, with errors that name the plugin and the key
// ("plugin 'prefix' (prefix-cache-scorer): parameter 'lruCapacityPerServer' must be ...").
// Keys a plugin never reads are reported by warn_unread(): llm-d ignores unknown fields, so they
// are warnings, not errors.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "router/picker_config.h"

namespace kvtier::router {

class PluginParams {
 public:
  explicit PluginParams(const PluginSpec& spec);

  const std::string& plugin_name() const { return plugin_name_; }
  bool has(std::string_view key) const;

  Expected<int64_t> integer(std::string_view key, int64_t fallback, int64_t min = INT64_MIN,
                            int64_t max = INT64_MAX);
  Expected<double> number(std::string_view key, double fallback, double min, double max);
  Expected<bool> boolean(std::string_view key, bool fallback);
  Expected<std::string> string(std::string_view key, std::string fallback);
  // A nested map ("indexerConfig"); an absent key gives an empty section.
  Expected<PluginParams> section(std::string_view key);
  // The raw value (nullptr when absent), marked as read.
  const nlohmann::json* raw(std::string_view key);

  // An error about `key` in this section, for checks the typed reads cannot express.
  Status error(std::string_view key, std::string_view what) const;
  // Logs each key of this section that no read asked for.
  void warn_unread() const;

 private:
  PluginParams(std::string plugin_name, std::string path, const nlohmann::json* object);
  std::string key_path(std::string_view key) const;
  const nlohmann::json* find(std::string_view key);

  std::string plugin_name_;   // "'name' (type)"
  std::string path_;          // "indexerConfig.kvBlockIndexConfig." or ""
  nlohmann::json object_;     // an object (possibly empty)
  std::set<std::string> read_;
};

}  // namespace kvtier::router
