#pragma once
// A chat template (Jinja, as in tokenizer_config.json) parsed once and rendered per request the
// way transformers' apply_chat_template renders it. Immutable after parse(): renders may run on
// many threads at once.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/render_limits.h"
#include "tokenizer/jinja/value.h"

namespace kvtier::tokenizer {

using TemplateVariables = std::vector<std::pair<std::string, jinja::Value>>;

class ChatTemplate {
 public:
  // `where` names the template's origin in errors ("DIR/tokenizer_config.json: chat_template").
  // A template using anything the interpreter lacks fails here with its line and construct.
  static Expected<std::unique_ptr<ChatTemplate>> parse(std::string_view source, std::string_view where);

  // Renders with these variables on top of the globals (range, namespace, raise_exception...).
  Expected<std::string> render(const TemplateVariables& variables,
                               const jinja::RenderLimits& limits = {}) const;
  // The same with variables given as a JSON object (key order kept).
  Expected<std::string> render(const nlohmann::ordered_json& variables,
                               const jinja::RenderLimits& limits = {}) const;

 private:
  ChatTemplate() = default;
  jinja::Body body_;
  std::string where_;
};

}  // namespace kvtier::tokenizer
