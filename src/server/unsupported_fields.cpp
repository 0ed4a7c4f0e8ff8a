#include "server/unsupported_fields.h"

namespace kvtier::server {
namespace {

using json = nlohmann::ordered_json;

bool is_set(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && !it->is_null();
}

Status unsupported(const char* name, const char* why) {
  return make_error(ErrorCode::kUnimplemented, "{} is not supported: {}", name, why);
}

}  // namespace

Status refuse_unsupported_fields(const json& body, bool chat) {
  // vLLM 0.11's structured_outputs and the guided_* fields it replaced.
  for (const char* name : {"structured_outputs", "guided_json", "guided_regex", "guided_choice",
                           "guided_grammar", "guided_decoding_backend",
                           "guided_whitespace_pattern"}) {
    if (is_set(body, name)) {
      return unsupported(name, "structured outputs (guided decoding) are not implemented");
    }
  }
  if (auto it = body.find("return_token_ids");
      it != body.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>())) {
    return unsupported("return_token_ids", "responses carry text and logprobs only");
  }
  if (chat && is_set(body, "chat_template")) {
    return unsupported("chat_template",
                       "a request cannot bring its own template; start the server with "
                       "--chat-template");
  }
  return Status::ok();
}

}  // namespace kvtier::server
