// The generation endpoints: parse and tokenize in the worker pool, then submit from the
// connection's executor and let a GenerationCall carry the response.
#include <ctime>
#include <new>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/api.h"
#include "server/api_error.h"
#include "server/api_request.h"
#include "server/bad_words.h"
#include "server/generation_call.h"
#include "server/json_fields.h"
#include "server/response_builder.h"

namespace kvtier::server {

using json = nlohmann::ordered_json;

namespace {

std::string truncate_for_log(const std::string& text, int32_t max_len) {
  if (max_len <= 0 || int32_t(text.size()) <= max_len) return text;
  return text.substr(0, size_t(max_len)) + "...";
}

}  // namespace

void Api::start_generation(Kind kind, HttpRequest request, std::shared_ptr<Responder> responder) {
  // The ticket counts the request as in flight from here until its call object is gone.
  in_flight_->fetch_add(1);
  std::shared_ptr<void> ticket(nullptr, [counter = in_flight_](void*) { counter->fetch_sub(1); });
  const size_t body_bytes = request.body.size();
  auto task = [this, kind, request = std::move(request), responder, ticket, body_bytes]() mutable {
    try {
      prepare_generation(kind, request, responder, std::move(ticket));
    } catch (const std::bad_alloc&) {
      ApiError error = out_of_memory_error(body_bytes);
      responder->post([responder, error] { responder->send(error_response(error)); });
    } catch (const std::exception& e) {
      ApiError error{500, fmt::format("internal error: {}", e.what()), {}};
      responder->post([responder, error] { responder->send(error_response(error)); });
    }
  };
  if (!offload_(std::move(task))) {
    responder->send(error_response(
        ApiError{503, "the server is overloaded: too many requests waiting for tokenization", {}}));
  }
}

void Api::prepare_generation(Kind kind, const HttpRequest& request,
                             const std::shared_ptr<Responder>& responder,
                             std::shared_ptr<void> ticket) {
  auto reject = [&](const Status& status) {
    ApiError error = api_error_from(status);
    responder->post([responder, error] { responder->send(error_response(error)); });
  };
  Expected<json> body = parse_json_body(request.body);
  if (!body) return reject(body.error());
  const engine::EngineInfo& info = engine_.info();

  GenerateOptions options;
  std::vector<int32_t> prompt_ids;
  std::string prompt_text;  // for logs and echo
  std::string echo_text;
  std::unique_ptr<ResponseBuilder> builder;
  ResponseMeta meta;
  meta.model = model_name();
  meta.created = int64_t(std::time(nullptr));
  meta.prompt_tokens_details = config_.enable_prompt_tokens_details;
  bool chat_logprobs = false;
  int32_t chat_top_logprobs = 0;
  std::optional<int32_t> completion_logprobs;

  if (kind == Kind::kCompletion) {
    auto parsed = parse_completion_request(*body, config_.sampling_defaults);
    if (!parsed) return reject(parsed.error());
    if (Status s = check_model(parsed->options.model); !s) return reject(s);
    if (parsed->prompt_text) {
      if (!codec_) {
        return reject(invalid_argument(
            "this server has no tokenizer: send the prompt as a list of token ids"));
      }
      auto ids = codec_->encode_prompt(*parsed->prompt_text, parsed->add_special_tokens);
      if (!ids) return reject(ids.error());
      prompt_ids = std::move(*ids);
      prompt_text = std::move(*parsed->prompt_text);
    } else {
      prompt_ids = std::move(parsed->prompt_ids);
      if (Status s = check_token_ids(prompt_ids, info.vocab_size, "prompt"); !s) return reject(s);
      if (codec_ && (parsed->echo || config_.log_requests)) {
        prompt_text = codec_->decode(prompt_ids, false);
      }
    }
    if (prompt_ids.empty()) return reject(invalid_argument("prompt must not be empty"));
    auto cut = truncate_prompt(parsed->options, info.max_model_len, prompt_ids);
    if (!cut) return reject(cut.error());
    if (*cut && codec_ && (parsed->echo || config_.log_requests)) {
      prompt_text = codec_->decode(prompt_ids, false);  // what the model sees, echoed as such
    }
    // vLLM echoes no prompt text when the prompt's ids come back (return_token_ids).
    if (parsed->echo && !parsed->options.return_token_ids) echo_text = prompt_text;
    completion_logprobs = parsed->options.sampling.logprobs;
    options = std::move(parsed->options);
    if (Status s = fit_to_context(options, int64_t(prompt_ids.size()), info.max_model_len, 16);
        !s) {
      return reject(s);
    }
    meta.id = new_id("cmpl-");
  } else {
    auto parsed = parse_chat_request(*body, config_.sampling_defaults);
    if (!parsed) return reject(parsed.error());
    if (Status s = check_model(parsed->options.model); !s) return reject(s);
    if (!codec_) {
      return reject(invalid_argument(
          "this server has no tokenizer, which chat completions need: use /v1/completions with "
          "token ids"));
    }
    auto rendered = render_chat_prompt(*codec_, *parsed, config_.trust_request_chat_template,
                                       request_templates_);
    if (!rendered) return reject(rendered.error());
    auto ids = codec_->encode_prompt(*rendered, parsed->add_special_tokens);
    if (!ids) return reject(ids.error());
    prompt_ids = std::move(*ids);
    prompt_text = std::move(*rendered);
    auto cut = truncate_prompt(parsed->options, info.max_model_len, prompt_ids);
    if (!cut) return reject(cut.error());
    if (*cut) prompt_text = codec_->decode(prompt_ids, false);
    chat_logprobs = parsed->logprobs;
    chat_top_logprobs = parsed->top_logprobs;
    options = std::move(parsed->options);
    if (Status s = fit_to_context(options, int64_t(prompt_ids.size()), info.max_model_len,
                                  std::nullopt);
        !s) {
      return reject(s);
    }
    meta.id = new_id("chatcmpl-");
  }
  if (Status s = check_token_ids(options.sampling.stop_token_ids, info.vocab_size,
                                 "stop_token_ids");
      !s) {
    return reject(s);
  }
  if (Status s = check_token_ids(options.sampling.allowed_token_ids, info.vocab_size,
                                 "allowed_token_ids");
      !s) {
    return reject(s);
  }
  if (!options.bad_words.empty()) {
    if (!codec_) {
      return reject(invalid_argument(
          "bad_words need a tokenizer and this server has none: use allowed_token_ids"));
    }
    auto ids = bad_words_token_ids(options.bad_words, *codec_, info.vocab_size);
    if (!ids) return reject(ids.error());
    options.sampling.bad_words_token_ids = std::move(*ids);
  }

  meta.prompt_tokens = int32_t(prompt_ids.size());
  meta.return_token_ids = options.return_token_ids;
  if (options.return_token_ids) meta.prompt_token_ids = prompt_ids;
  meta.stream_options = options.stream_options;
  if (kind == Kind::kCompletion) {
    builder = make_completion_builder(std::move(meta), codec_, completion_logprobs,
                                      std::move(echo_text));
  } else {
    builder = make_chat_builder(std::move(meta), codec_, chat_logprobs, chat_top_logprobs);
  }
  if (config_.log_requests) {
    spdlog::info("Received request {}: prompt: {:?}, max_tokens: {}, temperature: {}, "
                 "prompt tokens: {}",
                 builder->meta().id, truncate_for_log(prompt_text, config_.max_log_len),
                 options.sampling.max_tokens, options.sampling.temperature, prompt_ids.size());
  }

  int32_t max_tokens_param = options.max_tokens ? int32_t(*options.max_tokens) : 0;
  auto call = std::make_shared<GenerationCall>(engine_, responder, std::move(builder), metrics_,
                                               options.stream, max_tokens_param,
                                               std::move(ticket));
  engine::GenerationRequest generation;
  generation.request_id = call->id();
  generation.prompt_ids = std::move(prompt_ids);
  generation.sampling = std::move(options.sampling);
  generation.cache_salt = std::move(options.cache_salt);
  generation.priority = options.priority;
  generation.sink = call->sink();
  responder->post([call, generation = std::move(generation)]() mutable {
    call->submit(std::move(generation));
  });
}

}  // namespace kvtier::server
