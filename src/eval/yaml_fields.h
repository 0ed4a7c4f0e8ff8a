#pragma once
// Reading the experiment file: every value is read through a YamlField that knows its key path
// ("workloads.long.rates[2]") and the file, so each error names both, e.g.
// "exp.yaml: workloads.long.rates[2]: 'x' is not a number".
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/status.h"

namespace kvtier::eval {

class YamlField {
 public:
  YamlField(YAML::Node node, std::string path, const std::string* file)
      : node_(std::move(node)), path_(std::move(path)), file_(file) {}

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  bool present() const { return node_.IsDefined() && !node_.IsNull(); }

  // "FILE: PATH: message"; at the top level (empty path) "FILE: message".
  Status error(std::string_view message) const;

  YamlField child(const std::string& key) const;  // map member (may be absent)
  YamlField item(size_t index) const;             // sequence element

  // Errors when this map has a key outside `allowed` (or is not a map at all).
  Status check_keys(std::initializer_list<std::string_view> allowed) const;
  Status check_map() const;
  Status check_sequence() const;
  // The map's keys in document order (yaml-cpp keeps it).
  Expected<std::vector<std::string>> keys() const;

  Expected<std::string> as_string() const;
  Expected<double> as_number() const;
  Expected<int64_t> as_integer() const;
  Expected<bool> as_bool() const;
  // Plain scalars typed by the YAML 1.2 core schema (quoted ones stay strings); maps and
  // sequences as JSON objects and arrays.
  nlohmann::json as_json() const;

 private:
  YAML::Node node_;
  std::string path_;
  const std::string* file_;  // owned by the caller; outlives every field read from it
};

// Model, workload, config and arm names become folder names: [A-Za-z0-9._-]+, not "." or "..".
bool is_folder_name(std::string_view name);

// A JSON scalar as it goes on a command line: strings as they are, numbers without a trailing
// ".0", bools as true/false; objects and arrays as compact JSON.
std::string json_to_arg(const nlohmann::json& value);

}  // namespace kvtier::eval
