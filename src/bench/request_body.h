#pragma once
// The JSON body of each request, as GuideLLM's OpenAI backend builds it. Chat: the prefix is a
// system message in turn 0, and later turns resend the whole history (user prompts and the
// actual assistant replies). Text completions: the same pieces joined by spaces.
// Bodies are assembled from text escaped once (a 10k-token prefix is not re-escaped per turn).
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/synthetic_dataset.h"
#include "common/status.h"

namespace kvtier::bench {

enum class RequestFormat { kChatCompletions, kTextCompletions };

// Accepts GuideLLM's spellings: chat_completions, text_completions, /v1/chat/completions,
// /v1/completions (and chat, text, completions).
Expected<RequestFormat> parse_request_format(std::string_view text);
std::string_view request_format_route(RequestFormat format);
std::string_view request_format_name(RequestFormat format);

struct BodyOptions {
  RequestFormat format = RequestFormat::kChatCompletions;
  std::string model;
  bool stream = true;
  nlohmann::json extra_body = nlohmann::json::object();  // merged over the generated fields
};

// `text` as a quoted JSON string (invalid UTF-8 replaced).
std::string json_string_literal(std::string_view text);

// A conversation's texts as JSON string literals; replies are added as turns finish.
struct EscapedConversation {
  std::shared_ptr<const std::string> prefix;
  std::vector<std::string> prompts;
  std::vector<std::string> replies;
};
EscapedConversation escape_conversation(const ConversationSpec& conversation);

// Body for turn `turn`; `escaped.replies[i]` is the server's text for turn i < turn.
std::string build_request_body(const BodyOptions& options, const ConversationSpec& conversation,
                               const EscapedConversation& escaped, size_t turn);
// The same from plain replies (escapes everything; for tools and tests).
std::string build_request_body(const BodyOptions& options, const ConversationSpec& conversation,
                               size_t turn, const std::vector<std::string>& replies);

}  // namespace kvtier::bench
