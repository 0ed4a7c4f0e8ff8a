// /v1/completions responses: the whole-body and streamed shapes vLLM sends, usage options,
// echo, prompt forms, and what reaches the engine.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;

TEST(CompletionFormat, WholeBodyHasVllmFields) {
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"model", "fake-model"}, {"prompt", "hello"},
                                      {"max_tokens", 5}, {"temperature", 0}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->content_type, "application/json");
  json body = r->json();
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(body["id"].get<std::string>().size(), 5u + 32u);
  EXPECT_EQ(body["model"], "fake-model");
  EXPECT_TRUE(body["created"].is_number_integer());
  ASSERT_EQ(body["choices"].size(), 1u);
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["text"], "abcde");
  EXPECT_TRUE(choice["logprobs"].is_null());
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_TRUE(choice["stop_reason"].is_null());
  EXPECT_EQ(body["usage"], json::parse(R"({"prompt_tokens": 5, "total_tokens": 10,
      "completion_tokens": 5, "prompt_tokens_details": null})"));

  auto submitted = h.engine.submitted();
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].request_id, body["id"]);
  EXPECT_EQ(submitted[0].prompt_ids, (std::vector<int32_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(submitted[0].sampling.max_tokens, 5);
  EXPECT_EQ(submitted[0].sampling.temperature, 0.0f);
}

TEST(CompletionFormat, DefaultsMaxTokensTo16AndPassesSamplingFields) {
  ApiHarness h;
  auto r = h.post("/v1/completions",
                  {{"prompt", {1, 2, 3}}, {"top_p", 0.5}, {"top_k", 7}, {"min_p", 0.1},
                   {"seed", 42}, {"presence_penalty", 0.5}, {"frequency_penalty", -0.5},
                   {"repetition_penalty", 1.2}, {"min_tokens", 3}, {"ignore_eos", true},
                   {"stop", "zz"}, {"stop_token_ids", {7}}, {"skip_special_tokens", false},
                   {"include_stop_str_in_output", true}, {"cache_salt", "salt"},
                   {"user", "someone"}, {"unknown_field", {1, 2}}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->json()["choices"][0]["text"], std::string("abcdefghijklmnop"));
  auto s = h.engine.submitted().at(0);
  EXPECT_EQ(s.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(s.sampling.max_tokens, 16);
  EXPECT_FLOAT_EQ(s.sampling.top_p, 0.5f);
  EXPECT_EQ(s.sampling.top_k, 7);
  EXPECT_FLOAT_EQ(s.sampling.min_p, 0.1f);
  EXPECT_EQ(s.sampling.seed, 42u);
  EXPECT_FLOAT_EQ(s.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(s.sampling.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(s.sampling.repetition_penalty, 1.2f);
  EXPECT_EQ(s.sampling.min_tokens, 3);
  EXPECT_TRUE(s.sampling.ignore_eos);
  EXPECT_EQ(s.sampling.stop, std::vector<std::string>{"zz"});
  EXPECT_EQ(s.sampling.stop_token_ids, std::vector<int32_t>{7});
  EXPECT_FALSE(s.sampling.skip_special_tokens);
  EXPECT_TRUE(s.sampling.include_stop_str_in_output);
  EXPECT_EQ(s.cache_salt, "salt");
  EXPECT_FALSE(s.sampling.logprobs.has_value());
}

TEST(CompletionFormat, AcceptsPromptListsOfOne) {
  ApiHarness h;
  EXPECT_EQ(h.post("/v1/completions", {{"prompt", {"ab"}}, {"max_tokens", 1}})->status, 200);
  EXPECT_EQ(h.post("/v1/completions", {{"prompt", {{5, 6}}}, {"max_tokens", 1}})->status, 200);
  auto submitted = h.engine.submitted();
  ASSERT_EQ(submitted.size(), 2u);
  EXPECT_EQ(submitted[0].prompt_ids, (std::vector<int32_t>{'a', 'b'}));
  EXPECT_EQ(submitted[1].prompt_ids, (std::vector<int32_t>{5, 6}));
}

TEST(CompletionFormat, CapsMaxTokensToContextOnlyWhenDefaulted) {
  ApiHarness h;
  std::string prompt(250, 'x');  // 6 tokens left of 256
  auto r = h.post("/v1/completions", {{"prompt", prompt}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().at(0).sampling.max_tokens, 6);
}

TEST(CompletionFormat, StreamSendsChunksThenDone) {
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 3}, {"stream", true}});
  ASSERT_EQ(r->status, 200);
  EXPECT_TRUE(r->streamed);
  EXPECT_EQ(r->content_type, "text/event-stream; charset=utf-8");
  auto events = r->events();
  ASSERT_EQ(events.size(), 4u) << r->body;
  EXPECT_EQ(events.back(), "[DONE]");
  auto chunks = r->chunks();
  std::string text;
  std::string id = chunks[0]["id"];
  for (size_t i = 0; i < chunks.size(); ++i) {
    const json& c = chunks[i];
    EXPECT_EQ(c["id"], id);
    EXPECT_EQ(c["object"], "text_completion");
    EXPECT_EQ(c["model"], "fake-model");
    ASSERT_EQ(c["choices"].size(), 1u);
    EXPECT_EQ(c["choices"][0]["index"], 0);
    EXPECT_TRUE(c["choices"][0]["logprobs"].is_null());
    EXPECT_TRUE(c["usage"].is_null());  // vLLM sends "usage": null without continuous stats
    EXPECT_TRUE(c["choices"][0]["stop_reason"].is_null());
    if (i + 1 < chunks.size()) {
      EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
    }
    text += c["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, "abc");
  EXPECT_EQ(chunks.back()["choices"][0]["finish_reason"], "length");
  // The wire format is exact: "data: {...}\n\n" with compact JSON.
  EXPECT_EQ(r->body.rfind("data: {\"id\":\"cmpl-", 0), 0u);
  EXPECT_TRUE(r->body.ends_with("\n\ndata: [DONE]\n\n"));
}

TEST(CompletionFormat, IncludeUsageAddsAFinalChunkWithEmptyChoices) {
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "hey"}, {"max_tokens", 4}, {"stream", true},
                                      {"stream_options", {{"include_usage", true}}}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 5u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_TRUE(chunks[i]["usage"].is_null());
  }
  const json& last = chunks.back();
  EXPECT_TRUE(last["choices"].is_array());
  EXPECT_TRUE(last["choices"].empty());
  EXPECT_EQ(last["usage"], json::parse(R"({"prompt_tokens": 3, "total_tokens": 7,
      "completion_tokens": 4})"));
  EXPECT_EQ(r->events().back(), "[DONE]");
}

TEST(CompletionFormat, ContinuousUsageStatsPutsUsageInEveryChunk) {
  ApiHarness h;
  auto r = h.post("/v1/completions",
                  {{"prompt", "hey"}, {"max_tokens", 3}, {"stream", true},
                   {"stream_options", {{"include_usage", true}, {"continuous_usage_stats", true}}}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(chunks[size_t(i)]["usage"]["prompt_tokens"], 3);
    EXPECT_EQ(chunks[size_t(i)]["usage"]["completion_tokens"], i + 1);
    EXPECT_EQ(chunks[size_t(i)]["usage"]["total_tokens"], 3 + i + 1);
  }
  EXPECT_TRUE(chunks[3]["choices"].empty());
  EXPECT_EQ(chunks[3]["usage"]["completion_tokens"], 3);
}

TEST(CompletionFormat, StreamOptionsAloneDefaultToIncludeUsage) {
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "hey"}, {"max_tokens", 2}, {"stream", true},
                                      {"stream_options", json::object()}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_TRUE(chunks.back()["choices"].empty());
}

TEST(CompletionFormat, CachedTokensShowOnlyWithPromptTokensDetails) {
  auto cached_plan = [](const engine::GenerationRequest& r) {
    FakePlan plan = default_fake_plan(r, 300);
    plan.cached_tokens = 16;
    return plan;
  };
  {
    ApiConfig config;
    config.enable_prompt_tokens_details = true;
    ApiHarness h(config);
    h.engine.set_planner(cached_plan);
    auto whole = h.post("/v1/completions", {{"prompt", std::string(20, 'p')}, {"max_tokens", 2}});
    EXPECT_EQ(whole->json()["usage"]["prompt_tokens_details"]["cached_tokens"], 16);
    auto streamed = h.post("/v1/completions",
                           {{"prompt", std::string(20, 'p')}, {"max_tokens", 2}, {"stream", true},
                            {"stream_options", {{"include_usage", true}}}});
    EXPECT_EQ(streamed->chunks().back()["usage"]["prompt_tokens_details"]["cached_tokens"], 16);
  }
  {
    ApiHarness h;
    h.engine.set_planner(cached_plan);
    auto whole = h.post("/v1/completions", {{"prompt", std::string(20, 'p')}, {"max_tokens", 2}});
    EXPECT_TRUE(whole->json()["usage"]["prompt_tokens_details"].is_null());
  }
}

TEST(CompletionFormat, EchoPrependsThePrompt) {
  ApiHarness h;
  auto whole = h.post("/v1/completions", {{"prompt", "XY"}, {"max_tokens", 2}, {"echo", true}});
  EXPECT_EQ(whole->json()["choices"][0]["text"], "XYab");
  auto streamed = h.post("/v1/completions",
                         {{"prompt", {'Q'}}, {"max_tokens", 2}, {"echo", true}, {"stream", true}});
  auto chunks = streamed->chunks();
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0]["choices"][0]["text"], "Qa");
  EXPECT_EQ(chunks[1]["choices"][0]["text"], "b");
}

TEST(CompletionFormat, SkipsEmptyDeltasBeforeTheFirstToken) {
  ApiHarness h;
  h.engine.set_planner([](const engine::GenerationRequest&) {
    FakePlan plan;
    plan.steps.push_back({});  // a prefill step: nothing to say
    plan.steps.push_back({{'a'}, "a", {}});
    plan.steps.push_back({{0xE4}, "", {}});  // half a character: text held back
    plan.steps.push_back({{0xB8, 0xAD}, "\xE4\xB8\xAD", {}});
    return plan;
  });
  auto r = h.post("/v1/completions", {{"prompt", "x"}, {"stream", true}, {"max_tokens", 8}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 3u) << r->body;
  EXPECT_EQ(chunks[0]["choices"][0]["text"], "a");
  EXPECT_EQ(chunks[1]["choices"][0]["text"], "");  // a token arrived, its text did not yet
  EXPECT_EQ(chunks[2]["choices"][0]["text"], "\xE4\xB8\xAD");
  EXPECT_EQ(chunks[2]["choices"][0]["finish_reason"], "length");
}

TEST(CompletionFormat, EngineAbortMidStreamBecomesAnErrorEventThenDone) {
  ApiHarness h;
  h.engine.set_planner([](const engine::GenerationRequest& r) {
    FakePlan plan = default_fake_plan(r, 300);
    plan.steps.resize(2);
    plan.finish = engine::FinishReason::kAbort;
    return plan;
  });
  auto r = h.post("/v1/completions", {{"prompt", "x"}, {"stream", true}, {"max_tokens", 8},
                                      {"stream_options", {{"include_usage", true}}}});
  auto events = r->events();
  ASSERT_EQ(events.size(), 3u) << r->body;
  json error = json::parse(events[1]);
  EXPECT_EQ(error["error"]["code"], 503);
  EXPECT_EQ(events[2], "[DONE]");  // no usage chunk after a failure

  auto whole = h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 8}});
  EXPECT_EQ(whole->status, 503);
}

TEST(CompletionFormat, EngineErrorReportsItsStatus) {
  ApiHarness h;
  h.engine.set_planner([](const engine::GenerationRequest&) {
    FakePlan plan;
    plan.finish = engine::FinishReason::kError;
    return plan;
  });
  auto r = h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 2}});
  EXPECT_EQ(r->status, 500);
}

TEST(CompletionFormat, MaxLogprobsLimitComesFromTheConfig) {
  ApiConfig config;
  config.sampling_defaults.max_logprobs = 2;
  ApiHarness h(config);
  EXPECT_EQ(h.post("/v1/completions", {{"prompt", "x"}, {"logprobs", 2}})->status, 200);
  auto r = h.post("/v1/completions", {{"prompt", "x"}, {"logprobs", 3}});
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("greater than max allowed: 2"), std::string::npos);
}

TEST(CompletionFormat, GenerationConfigDefaultsApplyWhenFieldsAreAbsent) {
  ApiConfig config;
  config.sampling_defaults.temperature = 0.6f;
  config.sampling_defaults.top_k = 20;
  config.sampling_defaults.max_tokens = 3;
  ApiHarness h(config);
  h.post("/v1/completions", {{"prompt", "x"}});
  h.post("/v1/completions", {{"prompt", "x"}, {"temperature", 0}, {"top_k", 5},
                             {"max_tokens", 10}});
  auto s = h.engine.submitted();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_FLOAT_EQ(s[0].sampling.temperature, 0.6f);
  EXPECT_EQ(s[0].sampling.top_k, 20);
  EXPECT_EQ(s[0].sampling.max_tokens, 3);
  EXPECT_FLOAT_EQ(s[1].sampling.temperature, 0.0f);
  EXPECT_EQ(s[1].sampling.top_k, 5);
  EXPECT_EQ(s[1].sampling.max_tokens, 3);  // max_new_tokens caps requests too, as in vLLM
}

}  // namespace
}  // namespace kvtier::server::testing
