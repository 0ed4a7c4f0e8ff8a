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
  return Status::ok();
}

}  // namespace kvtier::server
