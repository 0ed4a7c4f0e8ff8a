// /v1/completions responses: "text_completion" objects, streamed or whole.
#include "server/logprobs_format.h"
#include "server/response_builder.h"

namespace kvtier::server {
namespace {

using nlohmann::ordered_json;

class CompletionBuilder final : public ResponseBuilder {
 public:
  CompletionBuilder(ResponseMeta meta, std::shared_ptr<const TextCodec> codec,
                    std::optional<int32_t> logprobs, std::string echo_text)
      : ResponseBuilder(std::move(meta), std::move(codec)),
        logprobs_(logprobs),
        echo_text_(std::move(echo_text)),
        lp_(codec_.get(), logprobs.value_or(0)) {}

  const char* chunk_object() const override { return "text_completion"; }

  std::string stream_delta(const engine::RequestOutput& out) override {
    if (failed(out)) {
      stream_failed_ = true;
      return sse_error(failure_of(out));
    }
    int32_t before = completion_tokens_;
    count(out);
    std::string text = out.text;
    if (!echo_text_.empty()) {
      text = std::move(echo_text_) + text;
      echo_text_.clear();
    }
    // Nothing yet (a prefill step): vLLM sends no empty chunks.
    if (text.empty() && out.token_ids.empty() && before == 0 && !out.finish_reason) return {};

    ordered_json choice;
    choice["index"] = 0;
    choice["text"] = std::move(text);
    if (logprobs_) {
      lp_.clear();
      lp_.append(out.token_ids, out.logprobs, text_length_);
      choice["logprobs"] = lp_.to_json();
    } else {
      choice["logprobs"] = nullptr;
    }
    text_length_ += utf8_length(out.text);
    choice["finish_reason"] =
        out.finish_reason ? ordered_json(finish_reason_text(*out.finish_reason)) : nullptr;
    choice["stop_reason"] = stop_reason(out);
    // The prompt's ids ride on the first chunk sent, each chunk's new ids on that chunk.
    choice["prompt_token_ids"] = prompt_ids_sent_ ? ordered_json() : prompt_ids_json();
    prompt_ids_sent_ = true;
    choice["token_ids"] = ids_json(out.token_ids);

    // vLLM sends "usage": null in completion chunks without continuous usage stats.
    if (!meta_.stream_options.continuous_usage_stats) {
      return sse_chunk(&choice, nullptr, UsageField::kNull);
    }
    ordered_json u = usage(true);
    return sse_chunk(&choice, &u);
  }

  void accumulate(const engine::RequestOutput& out) override {
    count(out);
    text_ += out.text;
    if (logprobs_) lp_.append_continuing(out.token_ids, out.logprobs);
    if (meta_.return_token_ids) {
      token_ids_.insert(token_ids_.end(), out.token_ids.begin(), out.token_ids.end());
    }
    if (out.finish_reason) last_ = out;
  }

  std::string full_body() override {
    ordered_json choice;
    choice["index"] = 0;
    choice["text"] = echo_text_ + text_;
    choice["logprobs"] = logprobs_ ? lp_.to_json() : ordered_json();
    set_finish(choice, last_);
    choice["token_ids"] = ids_json(token_ids_);
    choice["prompt_logprobs"] = nullptr;
    choice["prompt_token_ids"] = prompt_ids_json();
    ordered_json after_usage;
    after_usage["kv_transfer_params"] = nullptr;
    return full_response("text_completion", std::move(choice), after_usage);
  }

 private:
  std::optional<int32_t> logprobs_;
  std::string echo_text_;
  CompletionLogprobs lp_;
  int64_t text_length_ = 0;  // code points of output text sent so far
  std::string text_;
  std::vector<int32_t> token_ids_;  // the output's ids, kept only when return_token_ids
  bool prompt_ids_sent_ = false;
  engine::RequestOutput last_;
};

}  // namespace

std::unique_ptr<ResponseBuilder> make_completion_builder(ResponseMeta meta,
                                                         std::shared_ptr<const TextCodec> codec,
                                                         std::optional<int32_t> logprobs,
                                                         std::string echo_text) {
  return std::make_unique<CompletionBuilder>(std::move(meta), std::move(codec), logprobs,
                                             std::move(echo_text));
}

}  // namespace kvtier::server
