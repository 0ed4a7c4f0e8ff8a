#pragma once
// llm-d's EndpointPickerConfig: which plugins exist (name, type, parameters) and which scheduling
// profiles combine them (pluginRef, weight). Parsing checks the document's shape; each plugin checks
// its own parameters when it is built (router/plugin_factory.h).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kvtier::router {

inline constexpr std::string_view kApiVersionLlmd = "llm-d.ai/v1alpha1";
inline constexpr std::string_view kApiVersionGie = "inference.networking.x-k8s.io/v1alpha1";

struct PluginSpec {
  std::string name;              // unique; the type when the YAML omits it
  std::string type;
  nlohmann::json parameters;     // null or an object, converted from YAML
};

struct ProfilePluginRef {
  std::string plugin_ref;
  std::optional<double> weight;  // only meaningful for scorers; llm-d's default is 1
};

struct SchedulingProfileSpec {
  std::string name;
  std::vector<ProfilePluginRef> plugins;
};

struct EndpointPickerConfig {
  std::string source;            // file name or "<default>", for messages
  std::string api_version;
  std::vector<PluginSpec> plugins;
  std::vector<SchedulingProfileSpec> profiles;

  const PluginSpec* find_plugin(std::string_view name) const;
};

// Without a config: queue-scorer 2, kv-cache-utilization-scorer 2, prefix-cache-scorer 3,
// max-score-picker, single-profile-handler.
EndpointPickerConfig default_picker_config();

// `source` names the text in error messages.
Expected<EndpointPickerConfig> parse_picker_config(std::string_view yaml_text,
                                                   std::string_view source = "<config>");
Expected<EndpointPickerConfig> load_picker_config(const std::filesystem::path& path);

}  // namespace kvtier::router
