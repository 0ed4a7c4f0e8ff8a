#include "eval/yaml_fields.h"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace kvtier::eval {
namespace {

bool is_plain(const YAML::Node& node) { return node.Tag() != "!"; }

bool parse_int(const std::string& s, int64_t& out) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e && b != e;
}

bool parse_double(const std::string& s, double& out) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out, std::chars_format::general);
  return ec == std::errc() && p == e && b != e && std::isfinite(out);
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (!node.IsDefined() || node.IsNull()) return "empty";
  return fmt::format("'{}'", node.Scalar());
}

}  // namespace

Status YamlField::error(std::string_view message) const {
  if (path_.empty()) return invalid_argument("{}: {}", *file_, message);
  return invalid_argument("{}: {}: {}", *file_, path_, message);
}

YamlField YamlField::child(const std::string& key) const {
  // Through a const node: yaml-cpp's non-const operator[] may add the key.
  const YAML::Node& map = node_;
  YAML::Node value = map.IsMap() ? map[key] : YAML::Node(YAML::NodeType::Undefined);
  return YamlField(value, path_.empty() ? key : path_ + "." + key, file_);
}

YamlField YamlField::item(size_t index) const {
  const YAML::Node& list = node_;
  return YamlField(list[index], fmt::format("{}[{}]", path_, index), file_);
}

Status YamlField::check_map() const {
  if (!node_.IsMap()) return error(fmt::format("{} is not a map", describe(node_)));
  return Status::ok();
}

Status YamlField::check_sequence() const {
  if (!node_.IsSequence()) return error(fmt::format("{} is not a list", describe(node_)));
  return Status::ok();
}

Status YamlField::check_keys(std::initializer_list<std::string_view> allowed) const {
  KVTIER_RETURN_IF_ERROR(check_map());
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return child(key).error(fmt::format("unknown key (known here: {})", list));
    }
  }
  return Status::ok();
}

Expected<std::vector<std::string>> YamlField::keys() const {
  KVTIER_RETURN_IF_ERROR(check_map());
  std::vector<std::string> out;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) return error("a key is not a plain name");
    out.push_back(kv.first.Scalar());
  }
  return out;
}

Expected<std::string> YamlField::as_string() const {
  if (!present()) return error("missing value");
  if (!node_.IsScalar()) return error(fmt::format("{} is not a string", describe(node_)));
  return node_.Scalar();
}

Expected<double> YamlField::as_number() const {
  if (!present()) return error("missing value");
  double v = 0;
  if (!node_.IsScalar() || !is_plain(node_) || !parse_double(node_.Scalar(), v)) {
    return error(fmt::format("{} is not a number", describe(node_)));
  }
  return v;
}

Expected<int64_t> YamlField::as_integer() const {
  if (!present()) return error("missing value");
  int64_t v = 0;
  if (!node_.IsScalar() || !is_plain(node_) || !parse_int(node_.Scalar(), v)) {
    return error(fmt::format("{} is not an integer", describe(node_)));
  }
  return v;
}

Expected<bool> YamlField::as_bool() const {
  if (!present()) return error("missing value");
  if (node_.IsScalar() && is_plain(node_)) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  return error(fmt::format("{} is not true or false", describe(node_)));
}

nlohmann::json YamlField::as_json() const {
  if (!node_.IsDefined() || node_.IsNull()) return nullptr;
  if (node_.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < node_.size(); ++i) out.push_back(item(i).as_json());
    return out;
  }
  if (node_.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node_) out[kv.first.Scalar()] = child(kv.first.Scalar()).as_json();
    return out;
  }
  const std::string& s = node_.Scalar();
  if (!is_plain(node_)) return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  int64_t i = 0;
  if (parse_int(s, i)) return i;
  double d = 0;
  if (parse_double(s, d)) return d;
  return s;
}

bool is_folder_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string json_to_arg(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(int64_t(d));
    return fmt::format("{}", d);
  }
  return value.dump();
}

}  // namespace kvtier::eval
