#include <limits>

#include "server/api_request.h"
#include "server/json_fields.h"
#include "server/unsupported_fields.h"

namespace kvtier::server {
namespace {

using json = nlohmann::ordered_json;

Expected<std::vector<int32_t>> read_token_list(const json& list, const std::string& where) {
  std::vector<int32_t> ids;
  ids.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& v = list[i];
    if (!v.is_number_integer()) {
      return invalid_argument("{}[{}] must be a token id (integer), got {}", where, i,
                              json_type_phrase(v));
    }
    int64_t id = v.get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
      return invalid_argument("{}[{}] is not a token id: {}", where, i, id);
    }
    ids.push_back(int32_t(id));
  }
  return ids;
}

Status parse_prompt(const json& body, CompletionApiRequest& request) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) {
    return invalid_argument("prompt is required: a string or a list of token ids");
  }
  const json& prompt = *it;
  if (prompt.is_string()) {
    request.prompt_text = prompt.get<std::string>();
  } else if (prompt.is_array()) {
    if (prompt.empty()) return invalid_argument("prompt must not be an empty list");
    if (prompt[0].is_number()) {
      KVTIER_ASSIGN_OR_RETURN(request.prompt_ids, read_token_list(prompt, "prompt"));
    } else if (prompt.size() > 1) {
      return make_error(ErrorCode::kUnimplemented,
                        "prompt: batched prompts (a list of {} prompts) are not supported; send "
                        "one prompt per request",
                        prompt.size());
    } else if (prompt[0].is_string()) {
      request.prompt_text = prompt[0].get<std::string>();
    } else if (prompt[0].is_array()) {
      KVTIER_ASSIGN_OR_RETURN(request.prompt_ids, read_token_list(prompt[0], "prompt[0]"));
      if (request.prompt_ids.empty()) return invalid_argument("prompt[0] must not be empty");
    } else {
      return invalid_argument(
          "prompt must be a string, a list of token ids, or a list of one of those; got a list "
          "of {}",
          json_type_phrase(prompt[0]));
    }
  } else {
    return invalid_argument("prompt must be a string or a list of token ids, got {}",
                            json_type_phrase(prompt));
  }
  if (request.prompt_text && request.prompt_text->empty()) {
    return invalid_argument("prompt must be non-empty.");
  }
  return Status::ok();
}

}  // namespace

Expected<CompletionApiRequest> parse_completion_request(const json& body, const SamplingDefaults& defaults) {
  if (!body.is_object()) {
    return invalid_argument("the request body must be a JSON object, got {}",
                            json_type_phrase(body));
  }
  CompletionApiRequest request;
  KVTIER_RETURN_IF_ERROR(parse_prompt(body, request));
  KVTIER_RETURN_IF_ERROR(refuse_unsupported_fields(body, /*chat=*/false));
  KVTIER_RETURN_IF_ERROR(parse_generate_options(body, defaults, request.options));

  KVTIER_ASSIGN_OR_RETURN(request.options.max_tokens, read_integer(body, "max_tokens"));
  if (request.options.max_tokens && *request.options.max_tokens < 1) {
    return invalid_argument("max_tokens must be at least 1, got {}.",
                            *request.options.max_tokens);
  }
  KVTIER_ASSIGN_OR_RETURN(auto logprobs, read_integer(body, "logprobs"));
  if (logprobs) {
    if (*logprobs < 0) {
      return invalid_argument("logprobs must be a non-negative integer, got {}.", *logprobs);
    }
    if (*logprobs > defaults.max_logprobs) {
      return invalid_argument(
          "Requested sample logprobs of {}, which is greater than max allowed: {}", *logprobs,
          defaults.max_logprobs);
    }
    request.options.sampling.logprobs = int32_t(*logprobs);
  }
  KVTIER_ASSIGN_OR_RETURN(auto echo, read_bool(body, "echo"));
  request.echo = echo.value_or(false);
  if (request.echo && logprobs) {
    return make_error(ErrorCode::kUnimplemented,
                      "echo with logprobs is not supported (prompt logprobs are not computed)");
  }
  KVTIER_ASSIGN_OR_RETURN(auto add_special_tokens, read_bool(body, "add_special_tokens"));
  request.add_special_tokens = add_special_tokens.value_or(true);
  KVTIER_ASSIGN_OR_RETURN(auto suffix, read_string(body, "suffix"));
  if (suffix) return make_error(ErrorCode::kUnimplemented, "suffix is not currently supported");
  return request;
}

}  // namespace kvtier::server
