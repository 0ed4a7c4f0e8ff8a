#pragma once
// Turns a request's engine deltas into what the client reads: SSE chunks while streaming, or one
// JSON body at the end, in vLLM's shapes. One per request; used only on the request's executor.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/request.h"
#include "server/api_error.h"
#include "server/api_request.h"
#include "server/text_codec.h"

namespace kvtier::server {

struct ResponseMeta {
  std::string id;         // "cmpl-..." / "chatcmpl-..."
  std::string model;      // the served model name
  int64_t created = 0;    // unix seconds
  int32_t prompt_tokens = 0;
  StreamOptions stream_options;
  bool prompt_tokens_details = false;  // --enable-prompt-tokens-details
  bool return_token_ids = false;       // the request's return_token_ids
  std::vector<int32_t> prompt_token_ids;  // kept only when return_token_ids
};

class ResponseBuilder {
 public:
  ResponseBuilder(ResponseMeta meta, std::shared_ptr<const TextCodec> codec)
      : meta_(std::move(meta)), codec_(std::move(codec)) {}
  virtual ~ResponseBuilder() = default;

  const ResponseMeta& meta() const { return meta_; }

  // Bytes to send when a stream opens (chat: the chunk carrying the role).
  virtual std::string stream_opening() { return {}; }
  // Bytes for one delta; empty when there is nothing to tell the client. A delta that failed
  // (aborted or errored) becomes an error event.
  virtual std::string stream_delta(const engine::RequestOutput& out) = 0;
  // The usage chunk (when asked for and the request did not fail) and [DONE].
  std::string stream_closing();

  // Non-streamed responses: remember a delta, then render the whole body.
  virtual void accumulate(const engine::RequestOutput& out) = 0;
  virtual std::string full_body() = 0;

  int32_t completion_tokens() const { return completion_tokens_; }
  int32_t cached_tokens() const { return cached_tokens_; }

  // "data: {error json}\n\n"
  static std::string sse_error(const ApiError& error);
  static constexpr const char* kDone = "data: [DONE]\n\n";
  // The error a failed delta reports to the client (abort or engine error).
  static ApiError failure_of(const engine::RequestOutput& out);
  static bool failed(const engine::RequestOutput& out);

 protected:
  void count(const engine::RequestOutput& out);
  nlohmann::ordered_json usage(bool with_details_field) const;
  nlohmann::ordered_json final_usage() const;
  // The stop string, the stop token id (as a number), or null.
  nlohmann::ordered_json stop_reason(const engine::RequestOutput& out) const;
  // A choice's "finish_reason" and "stop_reason" from the request's last output.
  void set_finish(nlohmann::ordered_json& choice, const engine::RequestOutput& last) const;
  // The non-streamed body: id, object, created, model, then the one choice and the fields every
  // response carries; `after_usage` holds the trailing fields that differ between endpoints.
  std::string full_response(const char* object, nlohmann::ordered_json choice,
                            const nlohmann::ordered_json& after_usage) const;
  // One streamed chunk: the request's fixed fields (rendered once), then "choices" holding
  // `choice` (or nothing), then the usage field: absent, null, or the object, then the fields
  // of `trailing` (an object), if any.
  enum class UsageField { kAbsent, kNull };
  std::string sse_chunk(const nlohmann::ordered_json* choice, const nlohmann::ordered_json* usage,
                        UsageField when_no_usage = UsageField::kAbsent,
                        const nlohmann::ordered_json* trailing = nullptr);
  // vLLM's token id fields: the ids when the request asked for them (return_token_ids), else
  // null.
  nlohmann::ordered_json prompt_ids_json() const;
  nlohmann::ordered_json ids_json(const std::vector<int32_t>& ids) const;
  // "text_completion" or "chat.completion.chunk".
  virtual const char* chunk_object() const = 0;

  ResponseMeta meta_;
  std::shared_ptr<const TextCodec> codec_;
  int32_t completion_tokens_ = 0;
  int32_t cached_tokens_ = 0;
  bool stream_failed_ = false;

 private:
  std::string chunk_prefix_;  // "data: {\"id\":...,\"model\":...,\"choices\":["
};

// "stop", "length", "abort", "error": vLLM's finish_reason strings.
const char* finish_reason_text(engine::FinishReason reason);

std::unique_ptr<ResponseBuilder> make_completion_builder(ResponseMeta meta,
                                                         std::shared_ptr<const TextCodec> codec,
                                                         std::optional<int32_t> logprobs,
                                                         std::string echo_text);
std::unique_ptr<ResponseBuilder> make_chat_builder(ResponseMeta meta,
                                                   std::shared_ptr<const TextCodec> codec,
                                                   bool logprobs, int32_t top_logprobs);

}  // namespace kvtier::server
