#include "server/dotted_args.h"

#include <algorithm>

namespace kvtier::server {
namespace {

// JSON where the text is JSON, else the text as a string (vLLM's json.loads fallback).
nlohmann::json parse_value(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return text;
  return parsed;
}

// "a,b" -> ["a","b"]: the items stay strings, as vLLM's `+` form makes them.
nlohmann::json parse_list(const std::string& text) {
  nlohmann::json list = nlohmann::json::array();
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    list.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return list;
    start = comma + 1;
  }
}

template <typename Json>
void merge_into(Json& target, const nlohmann::json& source) {
  for (auto it = source.begin(); it != source.end(); ++it) {
    Json& slot = target[it.key()];
    if (slot.is_object() && it.value().is_object()) {
      merge_into(slot, it.value());
    } else {
      slot = it.value();
    }
  }
}

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Expected<DottedArgs> extract_dotted_args(const std::vector<std::string>& args,
                                         const std::set<std::string>& json_options) {
  DottedArgs out;
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") options_ended = true;
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    size_t dot = name.find('.');
    if (options_ended || !arg.starts_with("--") || dot == std::string::npos) {
      out.rest.push_back(arg);
      continue;
    }
    std::string option = name.substr(0, dot);
    std::replace(option.begin() + 2, option.end(), '_', '-');
    std::string path = name.substr(dot + 1);
    if (!json_options.contains(option)) {
      return invalid_argument("{}: only the JSON options ({}) take dotted keys", name,
                              join(json_options));
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return invalid_argument("{} needs a value", name);
    }
    bool as_list = path.ends_with('+');
    if (as_list) path.pop_back();
    std::vector<std::string> keys;
    for (size_t start = 0;;) {
      size_t next = path.find('.', start);
      keys.push_back(path.substr(start, next == std::string::npos ? next : next - start));
      if (keys.back().empty()) return invalid_argument("{}: an empty key", name);
      if (next == std::string::npos) break;
      start = next + 1;
    }
    nlohmann::json nested = as_list ? parse_list(value) : parse_value(value);
    for (auto key = keys.rbegin(); key != keys.rend(); ++key) {
      nested = nlohmann::json{{*key, std::move(nested)}};
    }
    nlohmann::json& object = out.objects[option];
    if (object.is_null()) object = nlohmann::json::object();
    merge_into(object, nested);
  }
  return out;
}

Expected<std::string> merge_json_option(const std::string& option, const std::string& base,
                                        const nlohmann::json& keys) {
  // Ordered: the option keeps the key order it was given in.
  nlohmann::ordered_json merged = nlohmann::ordered_json::object();
  if (!base.empty()) {
    merged = nlohmann::ordered_json::parse(base, nullptr, false);
    if (merged.is_discarded() || !merged.is_object()) {
      return invalid_argument("{} must be a JSON object, got: {}", option, base);
    }
  }
  merge_into(merged, keys);
  return merged.dump();
}

}  // namespace kvtier::server
