// Logprobs in both APIs' formats, and stop reasons (string, token id, eos).
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/logprobs_format.h"
#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;

TEST(Logprobs, CompletionsListsTokensOffsetsAndTopDicts) {
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 3}, {"logprobs", 2}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().at(0).sampling.logprobs, 2);
  json lp = r->json()["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json::parse(R"(["a", "b", "c"])"));
  EXPECT_EQ(lp["token_logprobs"], json::parse("[-0.25, -0.25, -0.25]"));
  EXPECT_EQ(lp["text_offset"], json::parse("[0, 1, 2]"));
  ASSERT_EQ(lp["top_logprobs"].size(), 3u);
  // The sampled token, then the top 2 (the fake's top-1 is the sampled token itself).
  EXPECT_EQ(lp["top_logprobs"][0], json::parse(R"({"a": -0.25, "b": -1.25})"));
  // Key order on the wire is the API's: the sampled token first.
  EXPECT_NE(r->body.find(R"("top_logprobs":[{"a":-0.25,"b":-1.25})"), std::string::npos);
}

TEST(Logprobs, CompletionsStreamContinuesTextOffsets) {
  ApiHarness h;
  auto r = h.post("/v1/completions",
                  {{"prompt", "x"}, {"max_tokens", 3}, {"logprobs", 0}, {"stream", true}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    json lp = chunks[size_t(i)]["choices"][0]["logprobs"];
    EXPECT_EQ(lp["text_offset"], json::array({i}));
    EXPECT_EQ(lp["tokens"].size(), 1u);
    EXPECT_EQ(lp["top_logprobs"][0].size(), 1u);  // logprobs=0: only the sampled token
  }
}

TEST(Logprobs, ChatContentEntriesCarryBytesAndTopLogprobs) {
  ApiHarness h;
  json messages = json::array({{{"role", "user"}, {"content", "hi"}}});
  auto r = h.post("/v1/chat/completions", {{"messages", messages}, {"max_tokens", 2},
                                           {"logprobs", true}, {"top_logprobs", 3}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().at(0).sampling.logprobs, 3);
  json content = r->json()["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0]["token"], "a");
  EXPECT_DOUBLE_EQ(content[0]["logprob"].get<double>(), -0.25);
  EXPECT_EQ(content[0]["bytes"], json::array({97}));
  ASSERT_EQ(content[0]["top_logprobs"].size(), 3u);
  EXPECT_EQ(content[0]["top_logprobs"][1],
            json::parse(R"({"token": "b", "logprob": -1.25, "bytes": [98]})"));

  auto plain = h.post("/v1/chat/completions", {{"messages", messages}, {"max_tokens", 1},
                                               {"logprobs", true}});
  EXPECT_EQ(h.engine.submitted().at(1).sampling.logprobs, 0);
  EXPECT_TRUE(plain->json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"].empty());
}

TEST(Logprobs, ChatStreamCarriesLogprobsPerChunk) {
  ApiHarness h;
  json messages = json::array({{{"role", "user"}, {"content", "hi"}}});
  auto r = h.post("/v1/chat/completions", {{"messages", messages}, {"max_tokens", 2},
                                           {"logprobs", true}, {"top_logprobs", 1},
                                           {"stream", true}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_TRUE(chunks[0]["choices"][0]["logprobs"].is_null());  // the role chunk
  EXPECT_EQ(chunks[1]["choices"][0]["logprobs"]["content"][0]["token"], "a");
  EXPECT_EQ(chunks[2]["choices"][0]["logprobs"]["content"][0]["token"], "b");
}

TEST(Logprobs, PartialCharactersShowAsReplacementButKeepTheirBytes) {
  FakeCodec codec;
  engine::TokenLogprob lp;
  lp.token_id = 0xE4;
  lp.logprob = -std::numeric_limits<float>::infinity();
  lp.top = {{0xE4, -std::numeric_limits<float>::infinity()}};
  json content = json::parse(chat_logprobs_content(&codec, {0xE4}, {lp}, 1).dump());
  EXPECT_EQ(content[0]["token"], "\xEF\xBF\xBD");
  EXPECT_EQ(content[0]["bytes"], json::array({0xE4}));
  EXPECT_DOUBLE_EQ(content[0]["logprob"].get<double>(), -9999.0);  // JSON has no -inf

  CompletionLogprobs completion(nullptr, 1);  // no tokenizer: "token_id:N"
  completion.append({5, 6}, {lp, lp}, 10);
  json out = json::parse(completion.to_json().dump());
  EXPECT_EQ(out["tokens"], json::parse(R"(["token_id:5", "token_id:6"])"));
  EXPECT_EQ(out["text_offset"], json::parse("[10, 20]"));  // len("token_id:5") == 10
}

TEST(Logprobs, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(utf8_length("abc"), 3);
  EXPECT_EQ(utf8_length("\xE4\xB8\xAD\xE6\x96\x87"), 2);
  EXPECT_EQ(utf8_length("\xF0\x9F\x98\x80!"), 2);
}

TEST(StopReason, StopStringIsReportedAndCut) {
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 10}, {"stop", {"cd"}}});
  json choice = r->json()["choices"][0];
  EXPECT_EQ(choice["text"], "ab");
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(choice["stop_reason"], "cd");

  auto kept = h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 10}, {"stop", "cd"},
                                         {"include_stop_str_in_output", true}});
  EXPECT_EQ(kept->json()["choices"][0]["text"], "abcd");
}

TEST(StopReason, StopTokenIdIsReportedAsANumber) {
  ApiHarness h;
  auto r = h.post("/v1/completions",
                  {{"prompt", "x"}, {"max_tokens", 10}, {"stop_token_ids", {'c'}}});
  json choice = r->json()["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_EQ(choice["stop_reason"], 99);
  EXPECT_TRUE(choice["stop_reason"].is_number_integer());

  // A stop string that looks like a number stays a string.
  h.engine.set_planner([](const engine::GenerationRequest&) {
    FakePlan plan;
    plan.steps.push_back({{'1'}, "1", {}});
    plan.finish = engine::FinishReason::kStop;
    plan.stop_reason = "99";
    return plan;
  });
  auto s = h.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 10}, {"stop", "99"}});
  EXPECT_TRUE(s->json()["choices"][0]["stop_reason"].is_string());
}

TEST(StopReason, EosStopsWithNullReasonInStreamsToo) {
  ApiHarness h;
  h.engine.set_planner([](const engine::GenerationRequest&) {
    FakePlan plan;
    plan.steps.push_back({{'o'}, "o", {}});
    plan.steps.push_back({{'k'}, "k", {}});
    plan.finish = engine::FinishReason::kStop;
    return plan;
  });
  json messages = json::array({{{"role", "user"}, {"content", "hi"}}});
  auto r = h.post("/v1/chat/completions", {{"messages", messages}, {"stream", true}});
  auto chunks = r->chunks();
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2]["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(chunks[2]["choices"][0]["stop_reason"].is_null());
}

}  // namespace
}  // namespace kvtier::server::testing
