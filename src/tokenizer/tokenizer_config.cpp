#include "tokenizer/tokenizer_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/regular_file.h"

namespace kvtier::tokenizer {
namespace {

Expected<std::string> read_file(const std::filesystem::path& path) {
  // A FIFO would block the read below forever: refuse anything but a regular file.
  if (Status s = require_regular_file(path); !s.is_ok() && s.code() != ErrorCode::kNotFound)
    return s;
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A special token is a string, or an AddedToken object with "content".
Expected<std::optional<std::string>> token_field(const nlohmann::json& config, const char* key,
                                                 const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return std::optional<std::string>(content->get<std::string>());
  }
  return invalid_argument("{}: {}: expected a string or an object with \"content\"", where, key);
}

}  // namespace

Expected<TokenizerConfig> read_tokenizer_config(const std::filesystem::path& dir) {
  TokenizerConfig config;
  const std::filesystem::path path = dir / "tokenizer_config.json";
  const std::string where = path.string();
  if (std::filesystem::exists(path)) {
    KVTIER_ASSIGN_OR_RETURN(std::string text, read_file(path));
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return data_loss("{}: not valid JSON: {}", where, e.what());
    }
    if (!root.is_object()) return invalid_argument("{}: expected an object", where);
    KVTIER_ASSIGN_OR_RETURN(config.bos_token, token_field(root, "bos_token", where));
    KVTIER_ASSIGN_OR_RETURN(config.eos_token, token_field(root, "eos_token", where));
    KVTIER_ASSIGN_OR_RETURN(config.pad_token, token_field(root, "pad_token", where));
    KVTIER_ASSIGN_OR_RETURN(config.unk_token, token_field(root, "unk_token", where));
    auto tmpl = root.find("chat_template");
    if (tmpl != root.end() && tmpl->is_string()) {
      config.chat_template = tmpl->get<std::string>();
      config.chat_template_source = where + ": chat_template";
    } else if (tmpl != root.end() && tmpl->is_array()) {
      // Named templates: [{"name": ..., "template": ...}]; requests get the "default" one.
      for (size_t i = 0; i < tmpl->size(); ++i) {
        const auto& entry = (*tmpl)[i];
        if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
            entry["template"].is_string()) {
          config.chat_template = entry["template"].get<std::string>();
          config.chat_template_source = fmt::format("{}: chat_template[{}]", where, i);
        }
      }
    } else if (tmpl != root.end() && !tmpl->is_null()) {
      return invalid_argument("{}: chat_template: expected a string or a list of named templates", where);
    }
  }
  const std::filesystem::path jinja = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja)) {
    KVTIER_ASSIGN_OR_RETURN(config.chat_template, read_file(jinja));
    config.chat_template_source = jinja.string();
  }
  return config;
}

}  // namespace kvtier::tokenizer
