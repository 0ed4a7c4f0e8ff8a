#include "bench/request_body.h"

namespace kvtier::bench {
namespace {

// A JSON string literal without its quotes: escaping works character by character, so escaped
// pieces joined by a space equal the escaped joined text.
std::string_view unquoted(std::string_view literal) {
  return literal.substr(1, literal.size() - 2);
}

}  // namespace

Expected<RequestFormat> parse_request_format(std::string_view text) {
  if (text == "chat_completions" || text == "/v1/chat/completions" || text == "chat" ||
      text == "chat/completions") {
    return RequestFormat::kChatCompletions;
  }
  if (text == "text_completions" || text == "/v1/completions" || text == "text" ||
      text == "completions") {
    return RequestFormat::kTextCompletions;
  }
  return invalid_argument(
      "--request-type '{}': expected chat_completions or text_completions (or "
      "/v1/chat/completions, /v1/completions)",
      text);
}

std::string_view request_format_route(RequestFormat format) {
  return format == RequestFormat::kChatCompletions ? "/v1/chat/completions" : "/v1/completions";
}

std::string_view request_format_name(RequestFormat format) {
  return format == RequestFormat::kChatCompletions ? "chat_completions" : "text_completions";
}

std::string json_string_literal(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

EscapedConversation escape_conversation(const ConversationSpec& conversation) {
  EscapedConversation e;
  e.prefix = conversation.prefix_json
                 ? conversation.prefix_json
                 : std::make_shared<const std::string>(json_string_literal(
                       conversation.prefix ? *conversation.prefix : std::string()));
  for (const auto& t : conversation.turns) e.prompts.push_back(json_string_literal(t.prompt));
  return e;
}

std::string build_request_body(const BodyOptions& options, const ConversationSpec& conversation,
                               const EscapedConversation& escaped, size_t turn) {
  nlohmann::json head = nlohmann::json::object();
  if (!options.model.empty()) head["model"] = options.model;
  if (options.stream) {
    head["stream"] = true;
    head["stream_options"] = {{"include_usage", true}, {"continuous_usage_stats", true}};
  }
  const auto& current = conversation.turns.at(turn);
  const bool chat = options.format == RequestFormat::kChatCompletions;
  if (current.output_tokens) {
    head[chat ? "max_completion_tokens" : "max_tokens"] = *current.output_tokens;
    head["ignore_eos"] = true;
  }
  for (const auto& [key, value] : options.extra_body.items()) head[key] = value;
  head.erase(chat ? "messages" : "prompt");
  std::string body = head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  body.pop_back();  // reopen the object for the (large) conversation text
  if (body.size() > 1) body += ',';
  const bool has_prefix = escaped.prefix && escaped.prefix->size() > 2;

  if (chat) {
    body += "\"messages\":[";
    bool first = true;
    auto message = [&](std::string_view role, std::string_view literal) {
      body += first ? "{\"role\":\"" : ",{\"role\":\"";
      body += role;
      body += "\",\"content\":";
      body += literal;
      body += '}';
      first = false;
    };
    if (has_prefix) message("system", *escaped.prefix);
    for (size_t i = 0; i <= turn; ++i) {
      message("user", escaped.prompts.at(i));
      if (i < turn && i < escaped.replies.size() && escaped.replies[i].size() > 2) {
        message("assistant", escaped.replies[i]);
      }
    }
    body += "]}";
  } else {
    body += "\"prompt\":\"";
    bool first = true;
    auto add = [&](std::string_view literal) {
      if (literal.size() <= 2) return;
      if (!first) body += ' ';
      body += unquoted(literal);
      first = false;
    };
    if (has_prefix) add(*escaped.prefix);
    for (size_t i = 0; i <= turn; ++i) {
      add(escaped.prompts.at(i));
      if (i < turn && i < escaped.replies.size()) add(escaped.replies[i]);
    }
    body += "\"}";
  }
  return body;
}

std::string build_request_body(const BodyOptions& options, const ConversationSpec& conversation,
                               size_t turn, const std::vector<std::string>& replies) {
  EscapedConversation escaped = escape_conversation(conversation);
  for (const auto& r : replies) escaped.replies.push_back(json_string_literal(r));
  return build_request_body(options, conversation, escaped, turn);
}

}  // namespace kvtier::bench
