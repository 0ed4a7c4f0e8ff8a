// /v1/chat/completions responses: "chat.completion" and "chat.completion.chunk" objects.
#include "server/logprobs_format.h"
#include "server/response_builder.h"

namespace kvtier::server {
namespace {

using nlohmann::ordered_json;

class ChatBuilder final : public ResponseBuilder {
 public:
  ChatBuilder(ResponseMeta meta, std::shared_ptr<const TextCodec> codec, bool logprobs,
              int32_t top_logprobs)
      : ResponseBuilder(std::move(meta), std::move(codec)),
        logprobs_(logprobs),
        top_logprobs_(top_logprobs) {}

  const char* chunk_object() const override { return "chat.completion.chunk"; }

  std::string stream_opening() override {
    ordered_json choice;
    choice["index"] = 0;
    choice["delta"] = {{"role", "assistant"}, {"content", ""}};
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = nullptr;
    // vLLM puts the prompt's ids (or null) on this first chunk only, after the usage.
    ordered_json trailing;
    trailing["prompt_token_ids"] = prompt_ids_json();
    if (!meta_.stream_options.continuous_usage_stats) {
      return sse_chunk(&choice, nullptr, UsageField::kAbsent, &trailing);
    }
    ordered_json u = usage(false);
    return sse_chunk(&choice, &u, UsageField::kAbsent, &trailing);
  }

  std::string stream_delta(const engine::RequestOutput& out) override {
    if (failed(out)) {
      stream_failed_ = true;
      return sse_error(failure_of(out));
    }
    int32_t before = completion_tokens_;
    count(out);
    if (out.text.empty() && out.token_ids.empty() && before == 0 && !out.finish_reason) return {};

    ordered_json choice;
    choice["index"] = 0;
    choice["delta"] = {{"content", out.text}};
    choice["logprobs"] = logprobs_json(out);
    if (out.finish_reason) {
      choice["finish_reason"] = finish_reason_text(*out.finish_reason);
      choice["stop_reason"] = stop_reason(out);
    } else {
      choice["finish_reason"] = nullptr;
    }
    choice["token_ids"] = ids_json(out.token_ids);
    if (!meta_.stream_options.continuous_usage_stats) return sse_chunk(&choice, nullptr);
    ordered_json u = usage(false);
    return sse_chunk(&choice, &u);
  }

  void accumulate(const engine::RequestOutput& out) override {
    count(out);
    text_ += out.text;
    if (logprobs_) {
      for (auto& entry : chat_logprobs_content(codec_.get(), out.token_ids, out.logprobs,
                                               top_logprobs_)) {
        content_logprobs_.push_back(std::move(entry));
      }
    }
    if (meta_.return_token_ids) {
      token_ids_.insert(token_ids_.end(), out.token_ids.begin(), out.token_ids.end());
    }
    if (out.finish_reason) last_ = out;
  }

  std::string full_body() override {
    ordered_json message;
    message["role"] = "assistant";
    message["content"] = text_;
    message["refusal"] = nullptr;
    message["annotations"] = nullptr;
    message["audio"] = nullptr;
    message["function_call"] = nullptr;
    message["tool_calls"] = ordered_json::array();
    message["reasoning_content"] = nullptr;

    ordered_json choice;
    choice["index"] = 0;
    choice["message"] = std::move(message);
    if (logprobs_) {
      choice["logprobs"] = {{"content", content_logprobs_}};
    } else {
      choice["logprobs"] = nullptr;
    }
    set_finish(choice, last_);
    choice["token_ids"] = ids_json(token_ids_);
    ordered_json after_usage;
    after_usage["prompt_logprobs"] = nullptr;
    after_usage["prompt_token_ids"] = prompt_ids_json();
    after_usage["kv_transfer_params"] = nullptr;
    return full_response("chat.completion", std::move(choice), after_usage);
  }

 private:
  ordered_json logprobs_json(const engine::RequestOutput& out) const {
    if (!logprobs_) return nullptr;
    return {{"content", chat_logprobs_content(codec_.get(), out.token_ids, out.logprobs,
                                              top_logprobs_)}};
  }

  bool logprobs_;
  int32_t top_logprobs_;
  std::string text_;
  ordered_json content_logprobs_ = ordered_json::array();
  std::vector<int32_t> token_ids_;  // the output's ids, kept only when return_token_ids
  engine::RequestOutput last_;
};

}  // namespace

std::unique_ptr<ResponseBuilder> make_chat_builder(ResponseMeta meta,
                                                   std::shared_ptr<const TextCodec> codec,
                                                   bool logprobs, int32_t top_logprobs) {
  return std::make_unique<ChatBuilder>(std::move(meta), std::move(codec), logprobs, top_logprobs);
}

}  // namespace kvtier::server
