#include "server/config_file.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/regular_file.h"
#include "common/yaml_json.h"

namespace kvtier::server {
namespace {

using Kind = ConfigOption::Kind;

bool is_plain(const YAML::Node& node) { return node.Tag() != "!"; }

// A plain true/false (as Python's yaml.safe_load reads them), or nothing.
std::optional<bool> as_bool(const YAML::Node& node) {
  if (!node.IsScalar() || !is_plain(node)) return std::nullopt;
  nlohmann::ordered_json value = yaml_to_json<nlohmann::ordered_json>(node);
  if (value.is_boolean()) return value.get<bool>();
  return std::nullopt;
}

std::string kind_of(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return fmt::format("'{}'", node.Scalar());
}

}  // namespace

Expected<std::vector<ConfigArgument>> read_config_file(const std::filesystem::path& path,
                                                       const std::vector<ConfigOption>& options) {
  const std::string file = path.string();
  const std::string ext = path.extension().string();
  if (ext != ".yaml" && ext != ".yml") {
    return invalid_argument("--config {}: the config file must be .yaml or .yml", file);
  }
  if (Status s = require_regular_file(path); !s.is_ok()) {
    return invalid_argument("--config {}: {}", file, s.message());
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    return invalid_argument("--config {}: not valid YAML: {}", file, e.what());
  }
  std::vector<ConfigArgument> out;
  if (!root.IsDefined() || root.IsNull()) return out;  // an empty file sets nothing
  if (!root.IsMap()) {
    return invalid_argument("--config {}: expected a map of option names to values, got {}", file,
                            kind_of(root));
  }
  std::vector<std::string> seen;
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    auto fail = [&](std::string_view why) {
      return invalid_argument("--config {}: {}: {}", file, key, why);
    };
    std::string name = "--" + key;
    std::replace(name.begin() + 2, name.end(), '_', '-');
    if (name == "--config") return fail("a config file cannot name another");
    auto option = std::find_if(options.begin(), options.end(),
                               [&](const ConfigOption& o) { return o.name == name; });
    if (option == options.end()) {
      // argparse's abbreviations hold in the file too (`max-num-seq: 1024`).
      std::vector<const ConfigOption*> matches;
      for (const ConfigOption& o : options) {
        if (o.name.starts_with(name)) matches.push_back(&o);
      }
      if (matches.empty()) return fail("unknown option (not a `kvtier serve` flag)");
      if (matches.size() > 1) {
        std::string list;
        for (const ConfigOption* m : matches) list += (list.empty() ? "" : ", ") + m->name;
        return fail(fmt::format("ambiguous: could be {}", list));
      }
      option = options.begin() + (matches.front() - options.data());
      name = option->name;
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return fail("given twice (under two spellings)");
    }
    seen.push_back(name);
    if (!value.IsDefined() || value.IsNull()) return fail("has no value");
    ConfigArgument arg;
    arg.option = option->canonical.empty() ? option->name : option->canonical;
    std::vector<std::string>& args = arg.tokens;

    switch (option->kind) {
      case Kind::kFlag: {
        std::optional<bool> on = as_bool(value);
        if (!on) return fail(fmt::format("expected true or false, got {}", kind_of(value)));
        if (*on) {
          args.push_back(name);
        } else if (!option->negation.empty()) {
          args.push_back(option->negation);
        }
        break;
      }
      case Kind::kList:
        if (value.IsMap()) return fail("expected a value or a list of values, got a map");
        args.push_back(name);
        if (value.IsSequence()) {
          if (value.size() == 0) return fail("an empty list");
          for (const auto& item : value) {
            if (!item.IsScalar()) return fail("list items must be plain values");
            args.push_back(item.Scalar());
          }
        } else {
          args.push_back(value.Scalar());
        }
        break;
      // name=value: a value starting with '-' (a negative number) stays a value.
      case Kind::kJson:
        if (value.IsSequence()) return fail("expected a map (or its JSON text), got a list");
        args.push_back(name + "=" + (value.IsMap() ? yaml_to_json<nlohmann::ordered_json>(value).dump() : value.Scalar()));
        break;
      case Kind::kValue:
        if (!value.IsScalar()) {
          return fail(fmt::format("expected one value, got {}", kind_of(value)));
        }
        args.push_back(name + "=" + value.Scalar());
        break;
    }
    if (!args.empty()) out.push_back(std::move(arg));
  }
  return out;
}

Expected<ConfiguredArgs> apply_config_file(const std::vector<std::string>& args,
                                           const std::vector<ConfigOption>& options) {
  std::vector<std::string> rest;
  std::vector<std::string> on_command_line;
  std::optional<std::string> file;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") options_ended = true;
    std::string name = arg.substr(0, arg.find('='));
    if (options_ended || !arg.starts_with("--")) {
      rest.push_back(arg);
      continue;
    }
    if (name == "--config") {
      if (file) return invalid_argument("--config is given twice: one config file at most");
      if (arg.size() > name.size()) {
        file = arg.substr(name.size() + 1);
      } else if (i + 1 < args.size()) {
        file = args[++i];
      } else {
        return invalid_argument("--config needs a YAML file");
      }
      continue;
    }
    auto option = std::find_if(options.begin(), options.end(),
                               [&](const ConfigOption& o) { return o.name == name; });
    if (option != options.end()) {
      on_command_line.push_back(option->canonical.empty() ? option->name : option->canonical);
    }
    rest.push_back(arg);
  }
  ConfiguredArgs out;
  if (!file) {
    out.args = std::move(rest);
    return out;
  }
  KVTIER_ASSIGN_OR_RETURN(std::vector<ConfigArgument> from_file, read_config_file(*file, options));
  for (ConfigArgument& arg : from_file) {
    bool overridden = std::find(on_command_line.begin(), on_command_line.end(), arg.option) !=
                      on_command_line.end();
    if (overridden) continue;
    out.from_file.push_back(arg.option);
    for (std::string& token : arg.tokens) out.args.push_back(std::move(token));
  }
  for (std::string& arg : rest) out.args.push_back(std::move(arg));
  return out;
}

}  // namespace kvtier::server
