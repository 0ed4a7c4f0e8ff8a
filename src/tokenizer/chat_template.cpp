#include "tokenizer/chat_template.h"

#include <new>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/parser.h"

namespace kvtier::tokenizer {

Expected<std::unique_ptr<ChatTemplate>> ChatTemplate::parse(std::string_view source, std::string_view where) {
  std::unique_ptr<ChatTemplate> t(new ChatTemplate());
  t->where_ = std::string(where);
  try {
    t->body_ = jinja::parse_template(source);
  } catch (const jinja::TemplateError& e) {
    return invalid_argument("{}: line {}: {}", where, e.line(), e.what());
  }
  return t;
}

Expected<std::string> ChatTemplate::render(const TemplateVariables& variables,
                                           const jinja::RenderLimits& limits) const {
  auto globals = std::make_shared<jinja::Frame>();
  jinja::install_globals(*globals);
  auto frame = std::make_shared<jinja::Frame>(globals);
  for (const auto& [name, value] : variables) frame->set(name, value);
  jinja::Interpreter interpreter(limits);
  try {
    return interpreter.render(body_, frame);
  } catch (const jinja::TemplateError& e) {
    return invalid_argument("chat template line {}: {}", e.line(), e.what());
  } catch (const std::bad_alloc&) {
    return invalid_argument(
        "chat template: {}: rendering ran out of memory (the template or its variables make "
        "more text than this machine holds)",
        where_);
  } catch (const std::exception& e) {
    return invalid_argument("chat template: {}", e.what());
  }
}

Expected<std::string> ChatTemplate::render(const nlohmann::ordered_json& variables,
                                           const jinja::RenderLimits& limits) const {
  if (!variables.is_object()) return invalid_argument("chat template variables must be a JSON object");
  TemplateVariables vars;
  for (auto it = variables.begin(); it != variables.end(); ++it) {
    vars.emplace_back(it.key(), jinja::Value::from_json(it.value()));
  }
  return render(vars, limits);
}

}  // namespace kvtier::tokenizer
