#include "server/response_builder.h"

namespace kvtier::server {

using nlohmann::ordered_json;

const char* finish_reason_text(engine::FinishReason reason) {
  switch (reason) {
    case engine::FinishReason::kStop: return "stop";
    case engine::FinishReason::kLength: return "length";
    case engine::FinishReason::kAbort: return "abort";
    case engine::FinishReason::kError: return "error";
  }
  return "error";
}

std::string ResponseBuilder::sse_error(const ApiError& error) {
  return "data: " + error_json(error) + "\n\n";
}

bool ResponseBuilder::failed(const engine::RequestOutput& out) {
  return out.finish_reason == engine::FinishReason::kAbort ||
         out.finish_reason == engine::FinishReason::kError;
}

ApiError ResponseBuilder::failure_of(const engine::RequestOutput& out) {
  if (out.finish_reason == engine::FinishReason::kError) {
    if (!out.error.is_ok()) return api_error_from(out.error);
    return ApiError{500, "the engine failed while generating this request", {}};
  }
  return ApiError{503, "the request was aborted by the server", {}};
}

void ResponseBuilder::count(const engine::RequestOutput& out) {
  completion_tokens_ = std::max(completion_tokens_ + int32_t(out.token_ids.size()),
                                out.completion_tokens);
  cached_tokens_ = std::max(cached_tokens_, out.cached_tokens);
}

ordered_json ResponseBuilder::usage(bool with_details_field) const {
  ordered_json u;
  u["prompt_tokens"] = meta_.prompt_tokens;
  u["total_tokens"] = meta_.prompt_tokens + completion_tokens_;
  u["completion_tokens"] = completion_tokens_;
  if (with_details_field) {
    if (meta_.prompt_tokens_details && cached_tokens_ > 0) {
      u["prompt_tokens_details"] = {{"cached_tokens", cached_tokens_}};
    } else {
      u["prompt_tokens_details"] = nullptr;
    }
  }
  return u;
}

ordered_json ResponseBuilder::final_usage() const {
  ordered_json u = usage(false);
  if (meta_.prompt_tokens_details && cached_tokens_ > 0) {
    u["prompt_tokens_details"] = {{"cached_tokens", cached_tokens_}};
  }
  return u;
}

ordered_json ResponseBuilder::stop_reason(const engine::RequestOutput& out) const {
  if (out.stop_token_id) return *out.stop_token_id;
  if (!out.stop_reason) return nullptr;
  return *out.stop_reason;
}

void ResponseBuilder::set_finish(ordered_json& choice, const engine::RequestOutput& last) const {
  choice["finish_reason"] =
      last.finish_reason ? ordered_json(finish_reason_text(*last.finish_reason)) : ordered_json();
  choice["stop_reason"] = stop_reason(last);
}

std::string ResponseBuilder::full_response(const char* object, ordered_json choice,
                                           const ordered_json& after_usage) const {
  ordered_json body;
  body["id"] = meta_.id;
  body["object"] = object;
  body["created"] = meta_.created;
  body["model"] = meta_.model;
  body["choices"] = ordered_json::array({std::move(choice)});
  body["service_tier"] = nullptr;
  body["system_fingerprint"] = nullptr;
  body["usage"] = usage(true);
  for (const auto& [key, value] : after_usage.items()) body[key] = value;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ResponseBuilder::sse_chunk(const ordered_json* choice, const ordered_json* usage,
                                       UsageField when_no_usage, const ordered_json* trailing) {
  if (chunk_prefix_.empty()) {
    ordered_json header;
    header["id"] = meta_.id;
    header["object"] = chunk_object();
    header["created"] = meta_.created;
    header["model"] = meta_.model;
    chunk_prefix_ = "data: " + header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    chunk_prefix_.pop_back();  // the closing brace: more fields follow
    chunk_prefix_ += ",\"choices\":[";
  }
  std::string out = chunk_prefix_;
  if (choice) out += choice->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += ']';
  if (usage) {
    out += ",\"usage\":";
    out += usage->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else if (when_no_usage == UsageField::kNull) {
    out += ",\"usage\":null";
  }
  if (trailing) {
    for (const auto& [key, value] : trailing->items()) {
      out += ',';
      out += ordered_json(key).dump();
      out += ':';
      out += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  out += "}\n\n";
  return out;
}

ordered_json ResponseBuilder::prompt_ids_json() const {
  return ids_json(meta_.prompt_token_ids);
}

ordered_json ResponseBuilder::ids_json(const std::vector<int32_t>& ids) const {
  if (!meta_.return_token_ids) return nullptr;
  return ids;
}

std::string ResponseBuilder::stream_closing() {
  std::string out;
  if (meta_.stream_options.include_usage && !stream_failed_) {
    ordered_json usage = final_usage();
    out = sse_chunk(nullptr, &usage);
  }
  out += kDone;
  return out;
}

}  // namespace kvtier::server
