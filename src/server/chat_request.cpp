#include "server/api_request.h"
#include "server/json_fields.h"
#include "server/unsupported_fields.h"

namespace kvtier::server {
namespace {

using json = nlohmann::ordered_json;

// OpenAI content may be a string or a list of parts; text parts are joined with "\n" as vLLM
// does for templates that take string content.
Expected<json> flatten_content(const json& content, size_t index) {
  if (content.is_null() || content.is_string()) return content;
  if (!content.is_array()) {
    return invalid_argument("messages[{}].content must be a string or a list of parts, got {}",
                            index, json_type_phrase(content));
  }
  std::string text;
  for (size_t p = 0; p < content.size(); ++p) {
    const json& part = content[p];
    if (part.is_string()) {
      if (!text.empty()) text += '\n';
      text += part.get<std::string>();
      continue;
    }
    if (!part.is_object()) {
      return invalid_argument("messages[{}].content[{}] must be an object, got {}", index, p,
                              json_type_phrase(part));
    }
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) {
      return invalid_argument("messages[{}].content[{}].type is required", index, p);
    }
    std::string t = type->get<std::string>();
    if (t != "text" && t != "input_text") {
      return make_error(ErrorCode::kUnimplemented,
                        "messages[{}].content[{}]: content parts of type '{}' are not supported "
                        "(text only)",
                        index, p, t);
    }
    auto value = part.find("text");
    if (value == part.end() || !value->is_string()) {
      return invalid_argument("messages[{}].content[{}].text must be a string", index, p);
    }
    if (!text.empty()) text += '\n';
    text += value->get<std::string>();
  }
  return json(text);
}

Status parse_messages(const json& body, ChatApiRequest& request) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) {
    return invalid_argument("messages is required: a list of {{role, content}} objects");
  }
  if (!it->is_array()) {
    return invalid_argument("messages must be a list, got {}", json_type_phrase(*it));
  }
  if (it->empty()) return invalid_argument("messages must not be empty");
  request.messages = json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& message = (*it)[i];
    if (!message.is_object()) {
      return invalid_argument("messages[{}] must be an object, got {}", i,
                              json_type_phrase(message));
    }
    auto role = message.find("role");
    if (role == message.end() || !role->is_string()) {
      return invalid_argument("messages[{}].role is required and must be a string", i);
    }
    json normalized = message;
    auto content = message.find("content");
    if (content != message.end()) {
      KVTIER_ASSIGN_OR_RETURN(normalized["content"], flatten_content(*content, i));
    } else {
      normalized["content"] = nullptr;
    }
    request.messages.push_back(std::move(normalized));
  }
  return Status::ok();
}

Status parse_chat_options(const json& body, ChatApiRequest& request) {
  KVTIER_ASSIGN_OR_RETURN(auto add_generation_prompt, read_bool(body, "add_generation_prompt"));
  request.chat.add_generation_prompt = add_generation_prompt.value_or(true);
  KVTIER_ASSIGN_OR_RETURN(auto continue_final, read_bool(body, "continue_final_message"));
  if (continue_final.value_or(false)) {
    return make_error(ErrorCode::kUnimplemented, "continue_final_message is not supported");
  }
  auto kwargs = body.find("chat_template_kwargs");
  if (kwargs != body.end() && !kwargs->is_null()) {
    if (!kwargs->is_object()) {
      return invalid_argument("chat_template_kwargs must be an object, got {}",
                              json_type_phrase(*kwargs));
    }
    KVTIER_ASSIGN_OR_RETURN(auto thinking, read_bool(*kwargs, "enable_thinking"));
    if (thinking) request.chat.enable_thinking = *thinking;
    request.chat.template_kwargs = *kwargs;
    // vLLM passes chat_template_kwargs on as the renderer's keyword arguments, so a
    // "chat_template" there is the template itself (and wins over the request's field), not a
    // variable.
    auto kwargs_template = kwargs->find("chat_template");
    if (kwargs_template != kwargs->end() && !kwargs_template->is_null()) {
      if (!kwargs_template->is_string()) {
        return invalid_argument("chat_template_kwargs.chat_template must be a string, got {}",
                                json_type_phrase(*kwargs_template));
      }
      request.chat_template = kwargs_template->get<std::string>();
    }
    request.chat.template_kwargs.erase("chat_template");
  }
  KVTIER_ASSIGN_OR_RETURN(auto own_template, read_string(body, "chat_template"));
  if (!request.chat_template) request.chat_template = std::move(own_template);
  KVTIER_ASSIGN_OR_RETURN(auto add_special_tokens, read_bool(body, "add_special_tokens"));
  request.add_special_tokens = add_special_tokens.value_or(false);
  auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) {
      return invalid_argument("tools must be a list, got {}", json_type_phrase(*tools));
    }
    if (!tools->empty()) request.chat.ordered_tools = *tools;
  }
  auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    if (!choice->is_string() ||
        (choice->get<std::string>() != "none" && choice->get<std::string>() != "auto")) {
      return make_error(ErrorCode::kUnimplemented,
                        "tool_choice {} is not supported: tool calls are not parsed",
                        choice->dump());
    }
  }
  return Status::ok();
}

}  // namespace

Expected<ChatApiRequest> parse_chat_request(const json& body, const SamplingDefaults& defaults) {
  if (!body.is_object()) {
    return invalid_argument("the request body must be a JSON object, got {}",
                            json_type_phrase(body));
  }
  ChatApiRequest request;
  KVTIER_RETURN_IF_ERROR(parse_messages(body, request));
  KVTIER_RETURN_IF_ERROR(refuse_unsupported_fields(body, /*chat=*/true));
  KVTIER_RETURN_IF_ERROR(parse_generate_options(body, defaults, request.options));
  KVTIER_RETURN_IF_ERROR(parse_chat_options(body, request));

  KVTIER_ASSIGN_OR_RETURN(auto max_completion, read_integer(body, "max_completion_tokens"));
  KVTIER_ASSIGN_OR_RETURN(auto max_tokens, read_integer(body, "max_tokens"));
  request.options.max_tokens = max_completion ? max_completion : max_tokens;
  if (request.options.max_tokens && *request.options.max_tokens < 1) {
    return invalid_argument("{} must be at least 1, got {}.",
                            max_completion ? "max_completion_tokens" : "max_tokens",
                            *request.options.max_tokens);
  }

  KVTIER_ASSIGN_OR_RETURN(auto logprobs, read_bool(body, "logprobs"));
  request.logprobs = logprobs.value_or(false);
  KVTIER_ASSIGN_OR_RETURN(auto top_logprobs, read_integer(body, "top_logprobs"));
  if (top_logprobs) {
    if (*top_logprobs < 0) {
      return invalid_argument("top_logprobs must be a non-negative integer, got {}.",
                              *top_logprobs);
    }
    if (*top_logprobs > 0 && !request.logprobs) {
      return invalid_argument("when using `top_logprobs`, `logprobs` must be set to true.");
    }
    if (*top_logprobs > defaults.max_logprobs) {
      return invalid_argument(
          "Requested sample logprobs of {}, which is greater than max allowed: {}",
          *top_logprobs, defaults.max_logprobs);
    }
    request.top_logprobs = int32_t(*top_logprobs);
  }
  if (request.logprobs) request.options.sampling.logprobs = request.top_logprobs;
  KVTIER_ASSIGN_OR_RETURN(auto echo, read_bool(body, "echo"));
  if (echo.value_or(false)) {
    return make_error(ErrorCode::kUnimplemented, "echo is not supported for chat completions");
  }
  return request;
}

}  // namespace kvtier::server
