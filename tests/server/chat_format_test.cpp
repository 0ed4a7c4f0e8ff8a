// /v1/chat/completions: the role chunk first, content deltas, finish, usage options, the whole
// "chat.completion" body, and how messages reach the chat template.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;

json user(const std::string& text) {
  return json::array({{{"role", "user"}, {"content", text}}});
}

TEST(ChatFormat, WholeBodyHasVllmFields) {
  ApiHarness h;
  auto r = h.post("/v1/chat/completions", {{"model", "fake-model"}, {"messages", user("hi")},
                                           {"max_tokens", 4}});
  ASSERT_EQ(r->status, 200) << r->body;
  json body = r->json();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(body["model"], "fake-model");
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], "abcd");
  EXPECT_TRUE(choice["message"]["tool_calls"].is_array());
  EXPECT_TRUE(choice["logprobs"].is_null());
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_TRUE(choice["stop_reason"].is_null());
  // "<|user|>hi\n<|assistant|>" is 24 bytes, so 24 prompt tokens with the byte codec.
  EXPECT_EQ(body["usage"]["prompt_tokens"], 24);
  EXPECT_EQ(body["usage"]["completion_tokens"], 4);
  EXPECT_EQ(body["usage"]["total_tokens"], 28);
}

TEST(ChatFormat, MessagesGoThroughTheTemplate) {
  ApiHarness h;
  json messages = json::array(
      {{{"role", "system"}, {"content", "sys"}},
       {{"role", "user"},
        {"content", json::array({{{"type", "text"}, {"text", "one"}},
                                 {{"type", "text"}, {"text", "two"}}})}},
       {{"role", "assistant"}, {"content", nullptr}}});
  auto r = h.post("/v1/chat/completions",
                  {{"messages", messages}, {"max_tokens", 1}, {"add_generation_prompt", false},
                   {"chat_template_kwargs", {{"enable_thinking", false}}}});
  ASSERT_EQ(r->status, 200) << r->body;
  std::string expected = "<|system|>sys\n<|user|>one\ntwo\n<|assistant|>\n<nothink>";
  auto ids = h.engine.submitted().at(0).prompt_ids;
  EXPECT_EQ(std::string(ids.begin(), ids.end()), expected);
}

TEST(ChatFormat, ToolsKeepTheirKeyOrderAndTemplateKwargsReachTheTemplate) {
  ApiHarness h;
  std::string body = R"({"messages": [{"role": "user", "content": "q"}], "max_tokens": 1,
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}],
      "chat_template_kwargs": {"suffix": "<S>"}})";
  auto r = h.run("POST", "/v1/chat/completions", body);
  ASSERT_EQ(r->status, 200) << r->body;
  auto ids = h.engine.submitted().at(0).prompt_ids;
  std::string prompt(ids.begin(), ids.end());
  EXPECT_EQ(prompt,
            R"(<|user|>q)" "\n" R"(<|assistant|><tools>[{"type":"function","function":{"name":"f",)"
            R"("parameters":{"z":1,"a":2}}}]<S>)");
}

TEST(ChatFormat, DefaultMaxTokensIsTheRestOfTheContext) {
  ApiHarness h;
  auto r = h.post("/v1/chat/completions", {{"messages", user("hi")}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().at(0).sampling.max_tokens, 256 - 24);
  h.post("/v1/chat/completions", {{"messages", user("hi")}, {"max_tokens", 9},
                                  {"max_completion_tokens", 3}});
  EXPECT_EQ(h.engine.submitted().at(1).sampling.max_tokens, 3);
}

TEST(ChatFormat, StreamStartsWithTheRoleChunk) {
  ApiHarness h;
  auto r = h.post("/v1/chat/completions", {{"messages", user("hi")}, {"max_tokens", 3},
                                           {"stream", true}});
  ASSERT_EQ(r->status, 200);
  auto events = r->events();
  ASSERT_EQ(events.size(), 5u) << r->body;  // role, 3 tokens, [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  auto chunks = r->chunks();
  EXPECT_EQ(chunks[0]["choices"][0]["delta"], json::parse(R"({"role": "assistant", "content": ""})"));
  EXPECT_TRUE(chunks[0]["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(chunks[0].contains("usage"));
  std::string text;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i]["object"], "chat.completion.chunk");
    EXPECT_EQ(chunks[i]["id"], chunks[0]["id"]);
    if (i == 0) continue;
    EXPECT_FALSE(chunks[i]["choices"][0]["delta"].contains("role"));
    text += chunks[i]["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "abc");
  const json& last = chunks.back()["choices"][0];
  EXPECT_EQ(last["finish_reason"], "length");
  EXPECT_TRUE(last.contains("stop_reason"));
  EXPECT_FALSE(chunks[1]["choices"][0].contains("stop_reason"));  // only set when finishing
  EXPECT_EQ(r->body.rfind("data: {\"id\":\"chatcmpl-", 0), 0u);
}

TEST(ChatFormat, IncludeUsageAndContinuousUsageStats) {
  ApiHarness h;
  auto usage_only = h.post("/v1/chat/completions",
                           {{"messages", user("hi")}, {"max_tokens", 2}, {"stream", true},
                            {"stream_options", {{"include_usage", true}}}});
  auto chunks = usage_only->chunks();
  ASSERT_EQ(chunks.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(chunks[i].contains("usage"));
  }
  EXPECT_TRUE(chunks[3]["choices"].empty());
  EXPECT_EQ(chunks[3]["usage"], json::parse(R"({"prompt_tokens": 24, "total_tokens": 26,
      "completion_tokens": 2})"));

  auto continuous = h.post(
      "/v1/chat/completions",
      {{"messages", user("hi")}, {"max_tokens", 2}, {"stream", true},
       {"stream_options", {{"include_usage", true}, {"continuous_usage_stats", true}}}});
  chunks = continuous->chunks();
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0]["usage"], json::parse(R"({"prompt_tokens": 24, "total_tokens": 24,
      "completion_tokens": 0})"));
  EXPECT_EQ(chunks[1]["usage"]["completion_tokens"], 1);
  EXPECT_EQ(chunks[2]["usage"]["completion_tokens"], 2);
  EXPECT_EQ(chunks[3]["usage"]["completion_tokens"], 2);
  EXPECT_TRUE(chunks[3]["choices"].empty());
}

TEST(ChatFormat, ClientThatLeavesAbortsTheEngineRequest) {
  ApiHarness h;
  auto r = h.start("POST", "/v1/chat/completions",
                   json({{"messages", user("hi")}, {"max_tokens", 50}, {"stream", true}}).dump());
  h.engine.step();
  r->run_posted();
  h.engine.step();
  r->run_posted();
  ASSERT_TRUE(r->streamed);
  EXPECT_EQ(h.engine.active(), 1u);
  EXPECT_EQ(h.api.in_flight(), 1);
  r->drop_client();
  auto aborted = h.engine.aborted();
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], h.engine.submitted().at(0).request_id);
  h.engine.step();  // the engine reports the abort
  r->run_posted();
  EXPECT_EQ(h.engine.active(), 0u);
  EXPECT_EQ(h.api.in_flight(), 0);
  EXPECT_EQ(h.api.metrics().snapshot().success[size_t(engine::FinishReason::kAbort)], 1u);
}

TEST(ChatFormat, ClientGoneBeforeSubmissionNeverReachesTheEngine) {
  ApiHarness h;
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1/chat/completions";
  request.body = json({{"messages", user("hi")}}).dump();
  auto r = std::make_shared<TestResponder>();
  h.api.handle(request, r);  // parsed and tokenized; submission is posted
  r->open = false;
  r->run_posted();
  EXPECT_TRUE(h.engine.submitted().empty());
  EXPECT_EQ(h.api.in_flight(), 0);
}

}  // namespace
}  // namespace kvtier::server::testing
