#include "router/picker_config.h"

#include <array>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <unordered_map>

#include "common/yaml_json.h"

namespace kvtier::router {
namespace {

constexpr std::array<std::string_view, 3> kApiVersions = {
    kApiVersionLlmd, kApiVersionGie,
    "config.apix.gateway-api-inference-extension.sigs.k8s.io/v1alpha1"};

// Top-level sections llm-d knows that the in-memory router has no use for.
constexpr std::array<std::string_view, 6> kIgnoredSections = {
    "featureGates", "saturationDetector", "data", "dataLayer", "flowControl", "parser"};

// Bounds on a picker config, checked on the parser's events before any node is built: a real
// config is a few KiB with a few hundred nodes nested a few levels deep. Aliases are allowed,
// but every alias counts the nodes it stands for, so a "billion laughs" document stops here
// instead of being expanded by the walk that turns parameters into JSON.
constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxExpandedNodes = 100'000;
constexpr size_t kMaxNesting = 64;

struct YamlTooLarge {
  YAML::Mark mark;
  std::string message;
};

class YamlBudget : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    add(mark, it == sizes_.end() ? 1 : it->second, "aliases expand to");
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    YAML::anchor_t anchor;
    size_t nodes_before;
  };
  void add(const YAML::Mark& mark, size_t n, const char* what) {
    nodes_ += n;
    if (nodes_ > kMaxExpandedNodes)
      throw YamlTooLarge{mark, fmt::format("{} more than {} nodes (nested aliases?)", what,
                                           kMaxExpandedNodes)};
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1, "the document holds");
    if (anchor) sizes_[anchor] = 1;
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1, "the document holds");
    if (open_.size() >= kMaxNesting)
      throw YamlTooLarge{mark, fmt::format("nested more than {} levels deep", kMaxNesting)};
    open_.push_back({anchor, nodes_ - 1});
  }
  void close() {
    if (open_.empty()) return;
    if (open_.back().anchor) sizes_[open_.back().anchor] = nodes_ - open_.back().nodes_before;
    open_.pop_back();
  }

  size_t nodes_ = 0;
  std::vector<Open> open_;
  std::unordered_map<YAML::anchor_t, size_t> sizes_;  // anchor -> nodes it stands for
};

// Refuses documents that are too large, too deep or that expand too far through aliases.
Status check_yaml_budget(std::string_view yaml_text, std::string_view source) {
  if (yaml_text.size() > kMaxConfigBytes)
    return invalid_argument("{}: {} bytes, larger than the {} bytes a picker config may have",
                            source, yaml_text.size(), kMaxConfigBytes);
  std::istringstream in{std::string(yaml_text)};
  YamlBudget budget;
  try {
    // Only the first document: YAML::Load below reads no other, and yaml-cpp 0.7 never gets
    // past a stray top-level ',' (it hands out empty documents forever).
    YAML::Parser parser(in);
    parser.HandleNextDocument(budget);
  } catch (const YamlTooLarge& e) {
    return invalid_argument("{}:{}:{}: refused: {}", source, e.mark.line + 1, e.mark.column + 1,
                            e.message);
  } catch (const YAML::Exception& e) {
    return invalid_argument("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1,
                            e.mark.column + 1, e.msg);
  }
  return Status::ok();
}

std::string where(const YAML::Node& node, std::string_view source) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return std::string(source);
  return fmt::format("{}:{}:{}", source, mark.line + 1, mark.column + 1);
}

Expected<std::string> required_string(const YAML::Node& map, const char* key,
                                      const std::string& context, std::string_view source) {
  const YAML::Node value = map[key];
  if (!value) return invalid_argument("{}: {}: missing key '{}'", where(map, source), context, key);
  if (!value.IsScalar() || value.Scalar().empty()) {
    return invalid_argument("{}: {}: '{}' must be a non-empty string", where(value, source),
                            context, key);
  }
  return value.Scalar();
}

Status check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                  const std::string& context, std::string_view source) {
  for (const auto& kv : map) {
    if (!kv.first.IsScalar())
      return invalid_argument("{}: {}: keys must be names", where(kv.first, source), context);
    const std::string key = kv.first.as<std::string>();
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) {
      return invalid_argument("{}: {}: unknown key '{}'", where(kv.first, source), context, key);
    }
  }
  return Status::ok();
}

Expected<PluginSpec> parse_plugin(const YAML::Node& node, size_t i, std::string_view source) {
  const std::string context = fmt::format("plugins[{}]", i);
  if (!node.IsMap()) return invalid_argument("{}: {} must be a map", where(node, source), context);
  KVTIER_RETURN_IF_ERROR(check_keys(node, {"name", "type", "parameters"}, context, source));
  PluginSpec spec;
  KVTIER_ASSIGN_OR_RETURN(spec.type, required_string(node, "type", context, source));
  if (node["name"]) {
    KVTIER_ASSIGN_OR_RETURN(spec.name, required_string(node, "name", context, source));
  } else {
    spec.name = spec.type;
  }
  const YAML::Node params = node["parameters"];
  if (params && !params.IsNull() && !params.IsMap()) {
    return invalid_argument("{}: plugin '{}': 'parameters' must be a map", where(params, source),
                            spec.name);
  }
  try {
    spec.parameters = params ? yaml_to_json<nlohmann::json>(params) : nlohmann::json();
  } catch (const YAML::Exception& e) {  // a key that is no scalar (`? {a: 1}`), for one
    return invalid_argument("{}: {}: parameters: {}", where(params, source), context, e.msg);
  }
  return spec;
}

Expected<SchedulingProfileSpec> parse_profile(const YAML::Node& node, size_t i,
                                              const EndpointPickerConfig& config,
                                              std::string_view source) {
  std::string context = fmt::format("schedulingProfiles[{}]", i);
  if (!node.IsMap()) return invalid_argument("{}: {} must be a map", where(node, source), context);
  KVTIER_RETURN_IF_ERROR(check_keys(node, {"name", "plugins"}, context, source));
  SchedulingProfileSpec profile;
  KVTIER_ASSIGN_OR_RETURN(profile.name, required_string(node, "name", context, source));
  context = fmt::format("scheduling profile '{}'", profile.name);
  const YAML::Node plugins = node["plugins"];
  if (!plugins || !plugins.IsSequence() || plugins.size() == 0) {
    return invalid_argument("{}: {}: 'plugins' must be a non-empty list", where(node, source),
                            context);
  }
  std::set<std::string> seen;
  for (size_t j = 0; j < plugins.size(); ++j) {
    const YAML::Node entry = plugins[j];
    const std::string entry_context = fmt::format("{}: plugins[{}]", context, j);
    if (!entry.IsMap()) {
      return invalid_argument("{}: {} must be a map", where(entry, source), entry_context);
    }
    KVTIER_RETURN_IF_ERROR(check_keys(entry, {"pluginRef", "weight"}, entry_context, source));
    ProfilePluginRef ref;
    KVTIER_ASSIGN_OR_RETURN(ref.plugin_ref,
                            required_string(entry, "pluginRef", entry_context, source));
    if (!config.find_plugin(ref.plugin_ref)) {
      return invalid_argument("{}: {}: pluginRef '{}' names no plugin in 'plugins'",
                              where(entry, source), context, ref.plugin_ref);
    }
    if (!seen.insert(ref.plugin_ref).second) {
      return invalid_argument("{}: {}: plugin '{}' is referenced twice", where(entry, source),
                              context, ref.plugin_ref);
    }
    if (const YAML::Node weight = entry["weight"]) {
      double w = 0;
      if (!weight.IsScalar() || !yaml_core_double(weight.Scalar(), w) || !(w >= 0) ||
          w == std::numeric_limits<double>::infinity()) {
        return invalid_argument("{}: {}: plugin '{}': 'weight' must be a number >= 0, got '{}'",
                                where(weight, source), context, ref.plugin_ref,
                                weight.IsScalar() ? weight.Scalar() : "<not a scalar>");
      }
      ref.weight = w;
    }
    profile.plugins.push_back(std::move(ref));
  }
  return profile;
}

}  // namespace

const PluginSpec* EndpointPickerConfig::find_plugin(std::string_view name) const {
  for (const auto& p : plugins) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

EndpointPickerConfig default_picker_config() {
  EndpointPickerConfig config;
  config.source = "<default>";
  config.api_version = std::string(kApiVersionLlmd);
  for (const char* type : {"queue-scorer", "kv-cache-utilization-scorer", "prefix-cache-scorer",
                           "max-score-picker", "single-profile-handler"}) {
    config.plugins.push_back({type, type, nullptr});
  }
  config.profiles.push_back({"default",
                             {{"queue-scorer", 2.0},
                              {"kv-cache-utilization-scorer", 2.0},
                              {"prefix-cache-scorer", 3.0},
                              {"max-score-picker", std::nullopt}}});
  return config;
}

Expected<EndpointPickerConfig> parse_picker_config(std::string_view yaml_text,
                                                   std::string_view source) {
  KVTIER_RETURN_IF_ERROR(check_yaml_budget(yaml_text, source));
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return invalid_argument("{}:{}:{}: invalid YAML: {}", source, e.mark.line + 1,
                            e.mark.column + 1, e.msg);
  }
  if (!root.IsMap()) {
    return invalid_argument("{}: an EndpointPickerConfig must be a YAML map", source);
  }
  EndpointPickerConfig config;
  config.source = std::string(source);
  for (const auto& kv : root) {
    if (!kv.first.IsScalar())
      return invalid_argument("{}: keys must be names", where(kv.first, source));
    const std::string key = kv.first.as<std::string>();
    if (key == "apiVersion" || key == "kind" || key == "plugins" || key == "schedulingProfiles") {
      continue;
    }
    bool ignored = false;
    for (auto s : kIgnoredSections) ignored = ignored || key == s;
    if (!ignored) {
      return invalid_argument("{}: unknown top-level key '{}'", where(kv.first, source), key);
    }
    spdlog::warn("{}: section '{}' has no effect on kvtier route", source, key);
  }

  KVTIER_ASSIGN_OR_RETURN(config.api_version,
                          required_string(root, "apiVersion", "EndpointPickerConfig", source));
  bool known_version = false;
  for (auto v : kApiVersions) known_version = known_version || config.api_version == v;
  if (!known_version) {
    return invalid_argument("{}: apiVersion '{}' is not supported (use '{}' or '{}')",
                            where(root["apiVersion"], source), config.api_version,
                            kApiVersionLlmd, kApiVersionGie);
  }
  KVTIER_ASSIGN_OR_RETURN(std::string kind,
                          required_string(root, "kind", "EndpointPickerConfig", source));
  if (kind != "EndpointPickerConfig") {
    return invalid_argument("{}: kind must be 'EndpointPickerConfig', got '{}'",
                            where(root["kind"], source), kind);
  }

  const YAML::Node plugins = root["plugins"];
  if (!plugins || !plugins.IsSequence() || plugins.size() == 0) {
    return invalid_argument("{}: 'plugins' must be a non-empty list", source);
  }
  for (size_t i = 0; i < plugins.size(); ++i) {
    KVTIER_ASSIGN_OR_RETURN(PluginSpec spec, parse_plugin(plugins[i], i, source));
    if (config.find_plugin(spec.name)) {
      return invalid_argument("{}: plugin name '{}' is used twice", where(plugins[i], source),
                              spec.name);
    }
    config.plugins.push_back(std::move(spec));
  }

  const YAML::Node profiles = root["schedulingProfiles"];
  if (!profiles || !profiles.IsSequence() || profiles.size() == 0) {
    return invalid_argument("{}: 'schedulingProfiles' must be a non-empty list", source);
  }
  for (size_t i = 0; i < profiles.size(); ++i) {
    KVTIER_ASSIGN_OR_RETURN(SchedulingProfileSpec profile,
                            parse_profile(profiles[i], i, config, source));
    for (const auto& other : config.profiles) {
      if (other.name == profile.name) {
        return invalid_argument("{}: scheduling profile name '{}' is used twice",
                                where(profiles[i], source), profile.name);
      }
    }
    config.profiles.push_back(std::move(profile));
  }
  return config;
}

Expected<EndpointPickerConfig> load_picker_config(const std::filesystem::path& path) {
  // A FIFO or device would block the read or never end: regular files only, size checked first.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return not_found("cannot open endpoint picker config '{}'", path.string());
  if (!S_ISREG(st.st_mode))
    return invalid_argument("endpoint picker config '{}' is not a regular file", path.string());
  if (uint64_t(st.st_size) > kMaxConfigBytes)
    return invalid_argument("{}: {} bytes, larger than the {} bytes a picker config may have",
                            path.string(), st.st_size, kMaxConfigBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open endpoint picker config '{}'", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_picker_config(text.str(), path.string());
}

}  // namespace kvtier::router
