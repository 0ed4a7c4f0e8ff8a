// Bad requests: each gets its HTTP status and a message that names what is wrong, in the
// OpenAI error shape, and never reaches the engine.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;

struct BadRequest {
  const char* name;
  const char* path;
  std::string body;
  int status;
  const char* message;  // a substring the error message must contain
};

std::string completion(const std::string& extra_fields) {
  return R"({"model": "fake-model", "prompt": "hi")" +
         (extra_fields.empty() ? std::string() : ", " + extra_fields) + "}";
}

std::string chat(const std::string& fields) { return "{" + fields + "}"; }

const std::vector<BadRequest>& bad_requests() {
  static const std::vector<BadRequest> cases = {
      {"invalid_json", "/v1/completions", "{\"prompt\": ", 400, "Invalid JSON"},
      {"body_not_object", "/v1/completions", "[1, 2]", 400, "must be a JSON object"},
      {"missing_prompt", "/v1/completions", "{}", 400, "prompt is required"},
      {"prompt_number", "/v1/completions", R"({"prompt": 5})", 400,
       "prompt must be a string or a list of token ids"},
      {"prompt_empty", "/v1/completions", R"({"prompt": ""})", 400, "prompt must be non-empty"},
      {"prompt_ids_out_of_vocab", "/v1/completions", R"({"prompt": [1, 999999]})", 400,
       "token id 999999 is out of vocabulary"},
      {"prompt_ids_negative", "/v1/completions", R"({"prompt": [1, -3]})", 400,
       "prompt[1] is not a token id: -3"},
      {"prompt_ids_mixed", "/v1/completions", R"({"prompt": [1, "a"]})", 400,
       "prompt[1] must be a token id"},
      {"batched_prompts", "/v1/completions", R"({"prompt": ["a", "b", "c"]})", 400,
       "batched prompts (a list of 3 prompts) are not supported"},
      {"unknown_model", "/v1/completions", R"({"model": "nope", "prompt": "hi"})", 404,
       "The model `nope` does not exist."},
      {"temperature_negative", "/v1/completions", completion(R"("temperature": -0.5)"), 400,
       "temperature must be non-negative, got -0.5"},
      {"temperature_string", "/v1/completions", completion(R"("temperature": "hot")"), 400,
       "temperature must be a number, got a string"},
      {"top_p_zero", "/v1/completions", completion(R"("top_p": 0)"), 400,
       "top_p must be in (0, 1], got 0"},
      {"top_p_above_one", "/v1/completions", completion(R"("top_p": 1.5)"), 400,
       "top_p must be in (0, 1], got 1.5"},
      {"top_k_below_minus_one", "/v1/completions", completion(R"("top_k": -2)"), 400,
       "top_k must be 0 (disable), or at least 1, got -2"},
      {"min_p_above_one", "/v1/completions", completion(R"("min_p": 2)"), 400,
       "min_p must be in [0, 1], got 2"},
      {"presence_penalty_range", "/v1/completions", completion(R"("presence_penalty": 3)"), 400,
       "presence_penalty must be in [-2, 2], got 3"},
      {"frequency_penalty_range", "/v1/completions", completion(R"("frequency_penalty": -2.5)"),
       400, "frequency_penalty must be in [-2, 2], got -2.5"},
      {"repetition_penalty_zero", "/v1/completions", completion(R"("repetition_penalty": 0)"), 400,
       "repetition_penalty must be in (0, 2], got 0"},
      {"max_tokens_zero", "/v1/completions", completion(R"("max_tokens": 0)"), 400,
       "max_tokens must be at least 1, got 0"},
      {"max_tokens_string", "/v1/completions", completion(R"("max_tokens": "ten")"), 400,
       "max_tokens must be an integer, got a string"},
      {"max_tokens_fraction", "/v1/completions", completion(R"("max_tokens": 1.5)"), 400,
       "max_tokens must be an integer, got 1.5"},
      {"min_tokens_negative", "/v1/completions", completion(R"("min_tokens": -1)"), 400,
       "min_tokens must be greater than or equal to 0, got -1"},
      {"min_tokens_above_max", "/v1/completions", completion(R"("min_tokens": 9, "max_tokens": 4)"),
       400, "min_tokens must be less than or equal to max_tokens=4, got 9"},
      {"n_two", "/v1/completions", completion(R"("n": 2)"), 400, "n > 1 is not supported"},
      {"n_zero", "/v1/completions", completion(R"("n": 0)"), 400, "n must be at least 1, got 0"},
      {"logprobs_too_many", "/v1/completions", completion(R"("logprobs": 21)"), 400,
       "Requested sample logprobs of 21, which is greater than max allowed: 20"},
      {"logprobs_negative", "/v1/completions", completion(R"("logprobs": -1)"), 400,
       "logprobs must be a non-negative integer"},
      {"echo_with_logprobs", "/v1/completions", completion(R"("echo": true, "logprobs": 1)"), 400,
       "echo with logprobs is not supported"},
      {"suffix", "/v1/completions", completion(R"("suffix": "end")"), 400,
       "suffix is not currently supported"},
      {"stop_not_string", "/v1/completions", completion(R"("stop": [1])"), 400,
       "stop[0] must be a string, got an integer"},
      {"stop_empty_string", "/v1/completions", completion(R"("stop": ["x", ""])"), 400,
       "stop cannot contain an empty string."},
      {"stop_token_ids_not_ints", "/v1/completions", completion(R"("stop_token_ids": ["x"])"), 400,
       "stop_token_ids[0] must be an integer"},
      {"stop_token_ids_out_of_vocab", "/v1/completions", completion(R"("stop_token_ids": [5000])"),
       400, "stop_token_ids: token id 5000 is out of vocabulary"},
      {"stream_not_bool", "/v1/completions", completion(R"("stream": "yes")"), 400,
       "stream must be a boolean, got a string"},
      {"stream_options_without_stream", "/v1/completions",
       completion(R"("stream_options": {"include_usage": true})"), 400,
       "Stream options can only be defined when `stream=True`."},
      {"cache_salt_empty", "/v1/completions", completion(R"("cache_salt": "")"), 400,
       "Parameter 'cache_salt' must be a non-empty string if provided."},
      {"logit_bias", "/v1/completions", completion(R"("logit_bias": {"5": 1.0})"), 400,
       "logit_bias is not supported"},
      {"structured_outputs", "/v1/completions",
       completion(R"("structured_outputs": {"json": {"type": "object"}})"), 400,
       "structured_outputs is not supported: structured outputs (guided decoding) are not "
       "implemented"},
      {"guided_json", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "guided_json": {})"), 400,
       "guided_json is not supported"},
      {"guided_choice", "/v1/completions", completion(R"("guided_choice": ["a", "b"])"), 400,
       "guided_choice is not supported"},
      {"truncate_prompt_tokens_zero", "/v1/completions",
       completion(R"("truncate_prompt_tokens": 0)"), 400,
       "truncate_prompt_tokens must be -1 (max_model_len) or at least 1, got 0."},
      {"truncate_prompt_tokens_past_context", "/v1/completions",
       completion(R"("truncate_prompt_tokens": 257)"), 400,
       "truncate_prompt_tokens value (257) is greater than max_model_len (256)"},
      {"allowed_token_ids_not_list", "/v1/completions", completion(R"("allowed_token_ids": 5)"),
       400, "allowed_token_ids must be a list of integers, got an integer"},
      {"allowed_token_ids_not_ints", "/v1/completions",
       completion(R"("allowed_token_ids": [1, "a"])"), 400,
       "allowed_token_ids[1] must be an integer, got a string"},
      {"allowed_token_ids_fraction", "/v1/completions",
       completion(R"("allowed_token_ids": [1.5])"), 400, "allowed_token_ids[0] must be an integer"},
      {"allowed_token_ids_empty", "/v1/completions", completion(R"("allowed_token_ids": [])"), 400,
       "allowed_token_ids is empty"},
      {"allowed_token_ids_out_of_vocab", "/v1/completions",
       completion(R"("allowed_token_ids": [1, 5000])"), 400,
       "allowed_token_ids: token id 5000 is out of vocabulary"},
      {"allowed_token_ids_negative", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "allowed_token_ids": [-1])"), 400,
       "allowed_token_ids: token id -1 is out of vocabulary"},
      {"allowed_token_ids_huge", "/v1/completions",
       completion(R"("allowed_token_ids": [99999999999])"), 400,
       "allowed_token_ids[0] is not a token id: 99999999999"},
      {"bad_words_not_list", "/v1/completions", completion(R"("bad_words": "x")"), 400,
       "bad_words must be a list of strings, got a string"},
      {"bad_words_not_strings", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "bad_words": [1])"), 400,
       "bad_words[0] must be a string, got an integer"},
      {"bad_words_blank_word", "/v1/completions", completion(R"("bad_words": ["x", " \t"])"),
       400, "bad_words[1] is empty"},
      {"priority_string", "/v1/completions", completion(R"("priority": "high")"), 400,
       "priority must be an integer, got a string"},
      {"chat_priority_fraction", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "priority": 1.5)"), 400,
       "priority must be an integer, got 1.5"},
      {"return_token_ids_not_bool", "/v1/completions", completion(R"("return_token_ids": 1)"),
       400, "return_token_ids must be a boolean"},
      {"add_special_tokens_not_bool", "/v1/completions",
       completion(R"("add_special_tokens": "yes")"), 400, "add_special_tokens must be a boolean"},
      {"request_chat_template_untrusted", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "chat_template": "{{ x }}")"),
       400, "chat_template is passed with the request, but --trust-request-chat-template is not set"},
      {"response_format_json", "/v1/completions",
       completion(R"("response_format": {"type": "json_object"})"), 400,
       "response_format {\"type\":\"json_object\"} is not supported"},
      {"prompt_fills_context", "/v1/completions",
       R"({"prompt": ")" + std::string(256, 'x') + R"("})", 400,
       "maximum context length is 256 tokens. However, your request has 256 input tokens"},
      {"prompt_plus_max_tokens", "/v1/completions",
       R"({"prompt": ")" + std::string(200, 'x') + R"(", "max_tokens": 100})", 400,
       "you requested 300 tokens (200 in the messages, 100 in the completion)"},
      {"chat_missing_messages", "/v1/chat/completions", chat(R"("model": "fake-model")"), 400,
       "messages is required"},
      {"chat_messages_not_list", "/v1/chat/completions", chat(R"("messages": "hi")"), 400,
       "messages must be a list, got a string"},
      {"chat_messages_empty", "/v1/chat/completions", chat(R"("messages": [])"), 400,
       "messages must not be empty"},
      {"chat_message_without_role", "/v1/chat/completions",
       chat(R"("messages": [{"content": "hi"}])"), 400, "messages[0].role is required"},
      {"chat_content_number", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": 7}])"), 400,
       "messages[0].content must be a string or a list of parts, got an integer"},
      {"chat_image_part", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
            {"type": "image_url", "image_url": {"url": "x"}}]}])"),
       400, "messages[0].content[1]: content parts of type 'image_url' are not supported"},
      {"chat_top_logprobs_without_logprobs", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2)"), 400,
       "when using `top_logprobs`, `logprobs` must be set to true."},
      {"chat_top_logprobs_too_many", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "logprobs": true,
            "top_logprobs": 30)"),
       400, "Requested sample logprobs of 30"},
      {"chat_template_kwargs_not_object", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "chat_template_kwargs": 1)"), 400,
       "chat_template_kwargs must be an object, got an integer"},
      {"chat_max_completion_tokens_zero", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 0)"),
       400, "max_completion_tokens must be at least 1, got 0"},
      {"chat_template_error", "/v1/chat/completions",
       chat(R"("messages": [{"role": "bad", "content": "hi"}])"), 400,
       "role 'bad' is not supported by the template"},
      {"chat_unknown_model", "/v1/chat/completions",
       chat(R"("model": "other", "messages": [{"role": "user", "content": "hi"}])"), 404,
       "The model `other` does not exist."},
      {"chat_tool_choice_required", "/v1/chat/completions",
       chat(R"("messages": [{"role": "user", "content": "hi"}], "tool_choice": "required")"), 400,
       "tool_choice \"required\" is not supported"},
      {"tokenize_without_prompt", "/tokenize", R"({"text": "hi"})", 400,
       "/tokenize needs \"prompt\""},
      {"detokenize_out_of_vocab", "/detokenize", R"({"tokens": [1, 400]})", 400,
       "tokens[1]: token id 400 is out of vocabulary"},
  };
  return cases;
}

// gtest prints parameters in failure messages and test listings: the case's name reads best.
void PrintTo(const BadRequest& c, std::ostream* os) { *os << c.name; }

class BadRequestTest : public ::testing::TestWithParam<BadRequest> {};

TEST_P(BadRequestTest, AnswersWithStatusAndMessageWithoutReachingTheEngine) {
  const BadRequest& c = GetParam();
  ApiHarness h;
  auto r = h.run("POST", c.path, c.body);
  EXPECT_EQ(r->status, c.status) << r->body;
  EXPECT_FALSE(r->streamed);
  json body = r->json();
  ASSERT_TRUE(body.contains("error")) << r->body;
  const json& error = body["error"];
  EXPECT_EQ(error["code"], c.status);
  EXPECT_EQ(error["type"], error_type_for(c.status));
  EXPECT_TRUE(error.contains("param"));
  EXPECT_NE(error["message"].get<std::string>().find(c.message), std::string::npos)
      << "message: " << error["message"] << "\nexpected to contain: " << c.message;
  EXPECT_TRUE(h.engine.submitted().empty());
}

INSTANTIATE_TEST_SUITE_P(Table, BadRequestTest, ::testing::ValuesIn(bad_requests()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ApiErrors, TableCoversAtLeastTwentyCases) { EXPECT_GE(bad_requests().size(), 20u); }

TEST(ApiErrors, TruncatePromptTokensKeepsTheLastTokens) {
  ApiHarness h;
  // A 300-token prompt does not fit the fake's 256-token context; truncated to its last 5 ids it
  // does, and the engine gets exactly those.
  std::string ids;
  for (int i = 0; i < 300; ++i) {
    if (i) ids += ',';
    ids += std::to_string(1 + i % 250);
  }
  auto r = h.run("POST", "/v1/completions",
                 R"({"prompt": [)" + ids + R"(], "max_tokens": 4, "truncate_prompt_tokens": 5})");
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(h.engine.submitted().size(), 1u);
  const std::vector<int32_t> expected = {46, 47, 48, 49, 50};  // ids 296..300: 1 + i % 250
  EXPECT_EQ(h.engine.submitted()[0].prompt_ids, expected);
  EXPECT_EQ(r->json()["usage"]["prompt_tokens"], 5);
  // -1 means max_model_len: the last 256 would leave no room for one token of output.
  auto full = h.run("POST", "/v1/completions",
                    R"({"prompt": [)" + ids + R"(], "max_tokens": 4, "truncate_prompt_tokens": -1})");
  EXPECT_EQ(full->status, 400) << full->body;
  // A prompt already shorter than k is left alone.
  auto shorter = h.run("POST", "/v1/completions",
                       R"({"prompt": [7, 8, 9], "max_tokens": 4, "truncate_prompt_tokens": 5})");
  ASSERT_EQ(shorter->status, 200) << shorter->body;
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, (std::vector<int32_t>{7, 8, 9}));
}

TEST(ApiErrors, TruncatePromptTokensCutsTheRenderedChatPrompt) {
  ApiHarness h;
  auto whole = h.run("POST", "/v1/chat/completions",
                     R"({"messages": [{"role": "user", "content": "hello there"}]})");
  ASSERT_EQ(whole->status, 200) << whole->body;
  const std::vector<int32_t> rendered = h.engine.submitted().back().prompt_ids;
  ASSERT_GT(rendered.size(), 3u);
  auto cut = h.run("POST", "/v1/chat/completions",
                   R"({"messages": [{"role": "user", "content": "hello there"}],
                       "truncate_prompt_tokens": 3})");
  ASSERT_EQ(cut->status, 200) << cut->body;
  EXPECT_EQ(h.engine.submitted().back().prompt_ids,
            std::vector<int32_t>(rendered.end() - 3, rendered.end()));
  EXPECT_EQ(cut->json()["usage"]["prompt_tokens"], 3);
}

TEST(ApiErrors, UnsupportedFieldsAtTheirDefaultsPass) {
  // What a client library sends when it fills every field with vLLM's defaults asks for nothing
  // kvtier lacks: the request reaches the engine.
  ApiHarness h;
  auto r = h.run("POST", "/v1/completions",
                 completion(R"("priority": 0, "return_token_ids": false, "allowed_token_ids": null,
                               "bad_words": [], "truncate_prompt_tokens": null,
                               "structured_outputs": null, "guided_json": null)"));
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().size(), 1u);
}

TEST(ApiErrors, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  ApiHarness h;
  auto missing = h.run("GET", "/v1/nothing", "");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->json()["error"]["type"], "NotFoundError");

  auto wrong = h.run("GET", "/v1/completions", "");
  EXPECT_EQ(wrong->status, 405);
  ASSERT_EQ(wrong->headers.size(), 1u);
  EXPECT_EQ(wrong->headers[0].first, "Allow");
  EXPECT_EQ(wrong->headers[0].second, "POST");
  EXPECT_EQ(h.run("POST", "/v1/models", "")->status, 405);
}

TEST(ApiErrors, ApiKeyGuardsOnlyV1Routes) {
  ApiConfig config;
  config.api_key = "sekret";
  ApiHarness h(config);
  std::string body = R"({"prompt": "hi", "max_tokens": 2})";
  EXPECT_EQ(h.run("POST", "/v1/completions", body)->status, 401);
  EXPECT_EQ(h.run("POST", "/v1/completions", body, {{"authorization", "Bearer wrong"}})->status,
            401);
  EXPECT_EQ(h.run("GET", "/v1/models", "")->status, 401);
  EXPECT_EQ(h.run("POST", "/v1/completions", body, {{"authorization", "Bearer sekret"}})->status,
            200);
  EXPECT_EQ(h.run("GET", "/health", "")->status, 200);
  EXPECT_EQ(h.run("GET", "/metrics", "")->status, 200);
  EXPECT_EQ(h.run("POST", "/tokenize", R"({"prompt": "ab"})")->status, 200);
}

TEST(ApiErrors, DrainingRefusesNewGenerationAndFailsHealth) {
  ApiHarness h;
  h.api.begin_drain();
  auto r = h.run("POST", "/v1/completions", R"({"prompt": "hi"})");
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->json()["error"]["type"], "ServiceUnavailableError");
  EXPECT_EQ(h.run("GET", "/health", "")->status, 503);
  EXPECT_TRUE(h.engine.submitted().empty());
}

TEST(ApiErrors, WhileStartingEveryRouteIs503) {
  RequestHandler starting = starting_handler();
  for (const char* path : {"/health", "/v1/models", "/v1/completions", "/metrics"}) {
    auto r = std::make_shared<TestResponder>();
    starting(HttpRequest{"GET", path, {}, ""}, r);
    EXPECT_EQ(r->status, 503) << path;
    EXPECT_EQ(r->json()["error"]["type"], "ServiceUnavailableError");
    EXPECT_NE(r->json()["error"]["message"].get<std::string>().find("starting"),
              std::string::npos);
  }
}

TEST(ApiErrors, EngineRejectionMapsItsStatus) {
  ApiHarness h;
  h.engine.reject_with(Status(ErrorCode::kUnavailable, "engine is draining"));
  auto r = h.run("POST", "/v1/completions", R"({"prompt": "hi", "stream": true})");
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->streamed);  // rejected before the stream opened: a plain HTTP error
  EXPECT_EQ(r->json()["error"]["message"], "engine is draining");

  h.engine.reject_with(invalid_argument("stop strings need a tokenizer"));
  EXPECT_EQ(h.run("POST", "/v1/completions", R"({"prompt": "hi"})")->status, 400);
}

TEST(ApiErrors, OverloadedWorkerPoolAnswers503) {
  FakeEngine engine;
  auto codec = std::make_shared<FakeCodec>();
  ApiConfig config;
  config.served_model_names = {"fake-model"};
  Api api(engine, codec, config, [](std::function<void()>) { return false; });
  auto r = std::make_shared<TestResponder>();
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1/completions";
  request.body = R"({"prompt": "hi"})";
  api.handle(request, r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("overloaded"), std::string::npos);
  EXPECT_EQ(api.in_flight(), 0);
}

TEST(ApiErrors, ErrorJsonHasTheOpenAiShape) {
  json body = json::parse(error_json(ApiError{413, "too big", "prompt"}));
  EXPECT_EQ(body, json::parse(R"({"error": {"message": "too big",
      "type": "RequestEntityTooLargeError", "param": "prompt", "code": 413}})"));
  json null_param = json::parse(error_json(ApiError{400, "bad", {}}));
  EXPECT_TRUE(null_param["error"]["param"].is_null());
  // Invalid UTF-8 quoted from a request never breaks the JSON.
  json replaced = json::parse(error_json(ApiError{400, std::string("bad \xff byte"), {}}));
  EXPECT_EQ(replaced["error"]["message"], "bad \xEF\xBF\xBD byte");
}

TEST(ApiErrors, StatusCodesMapToHttp) {
  EXPECT_EQ(http_status_for(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status_for(ErrorCode::kOutOfRange), 400);
  EXPECT_EQ(http_status_for(ErrorCode::kUnimplemented), 400);
  EXPECT_EQ(http_status_for(ErrorCode::kNotFound), 404);
  EXPECT_EQ(http_status_for(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(http_status_for(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(http_status_for(ErrorCode::kResourceExhausted), 503);
  EXPECT_EQ(http_status_for(ErrorCode::kInternal), 500);
}

}  // namespace
}  // namespace kvtier::server::testing
