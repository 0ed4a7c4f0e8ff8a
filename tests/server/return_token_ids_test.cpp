// vLLM's return_token_ids: the prompt's and the output's token ids beside the text, whole or
// streamed, in vLLM 0.11's places (null where not asked for); and add_special_tokens, which
// decides whether a text prompt gets the tokenizer's special tokens.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "server/test_responder.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using Ids = std::vector<int32_t>;

json user(const std::string& content) {
  return json::array({{{"role", "user"}, {"content", content}}});
}

std::vector<std::string> keys(const ordered_json& object) {
  std::vector<std::string> out;
  for (const auto& [key, value] : object.items()) out.push_back(key);
  return out;
}

ordered_json ordered(const TestResponder& r) { return ordered_json::parse(r.body); }

std::vector<ordered_json> ordered_chunks(const TestResponder& r) {
  std::vector<ordered_json> out;
  for (const auto& e : r.events()) {
    if (e != "[DONE]") out.push_back(ordered_json::parse(e));
  }
  return out;
}

Ids ids_of(const ordered_json& v) { return v.get<Ids>(); }

// Two ids with no text, then one id with text, then a stop: deltas whose ids and text do not
// line up, as a multi-byte character or a held-back stop string makes them.
FakePlan uneven_plan(const engine::GenerationRequest&) {
  FakePlan plan;
  plan.steps.push_back({{200, 201}, "", {}});
  plan.steps.push_back({{120}, "x", {}});
  plan.steps.push_back({{121, 122}, "yz", {}});
  plan.finish = engine::FinishReason::kStop;
  return plan;
}

TEST(ReturnTokenIds, CompletionChoiceCarriesPromptAndOutputIds) {
  ApiHarness h;
  auto r = h.post("/v1/completions",
                  {{"prompt", "hi"}, {"max_tokens", 3}, {"return_token_ids", true}});
  ASSERT_EQ(r->status, 200) << r->body;
  ordered_json choice = ordered(*r)["choices"][0];
  EXPECT_EQ(ids_of(choice["prompt_token_ids"]), (Ids{'h', 'i'}));
  EXPECT_EQ(ids_of(choice["token_ids"]), (Ids{'a', 'b', 'c'}));
  EXPECT_EQ(choice["text"], "abc");
  EXPECT_EQ(keys(choice), (std::vector<std::string>{"index", "text", "logprobs", "finish_reason",
                                                    "stop_reason", "token_ids", "prompt_logprobs",
                                                    "prompt_token_ids"}));
  ASSERT_EQ(h.engine.submitted().size(), 1u);
  EXPECT_EQ(h.engine.submitted()[0].prompt_ids, (Ids{'h', 'i'}));
}

TEST(ReturnTokenIds, ResponsesWithoutItCarryNulls) {
  // vLLM 0.11 always writes the fields; they are null unless asked for.
  ApiHarness h;
  for (const json& request : {json{{"prompt", "hi"}, {"max_tokens", 2}},
                              json{{"prompt", "hi"}, {"max_tokens", 2}, {"return_token_ids", false}}}) {
    auto r = h.post("/v1/completions", request);
    ordered_json choice = ordered(*r)["choices"][0];
    EXPECT_TRUE(choice.contains("token_ids") && choice["token_ids"].is_null()) << r->body;
    EXPECT_TRUE(choice.contains("prompt_token_ids") && choice["prompt_token_ids"].is_null());
  }
  auto chat = h.post("/v1/chat/completions", {{"messages", user("hi")}, {"max_tokens", 2}});
  ordered_json body = ordered(*chat);
  EXPECT_TRUE(body.contains("prompt_token_ids") && body["prompt_token_ids"].is_null());
  EXPECT_TRUE(body["choices"][0].contains("token_ids") && body["choices"][0]["token_ids"].is_null());

  auto stream = h.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}, {"stream", true}});
  for (const auto& c : ordered_chunks(*stream)) {
    EXPECT_TRUE(c["choices"][0]["prompt_token_ids"].is_null()) << stream->body;
    EXPECT_TRUE(c["choices"][0]["token_ids"].is_null());
  }
  auto chat_stream = h.post("/v1/chat/completions",
                            {{"messages", user("hi")}, {"max_tokens", 2}, {"stream", true},
                             {"stream_options", {{"include_usage", true}}}});
  auto chunks = ordered_chunks(*chat_stream);
  ASSERT_EQ(chunks.size(), 4u) << chat_stream->body;  // role, 2 tokens, usage
  EXPECT_TRUE(chunks[0].contains("prompt_token_ids") && chunks[0]["prompt_token_ids"].is_null());
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_FALSE(chunks[i].contains("prompt_token_ids"));
    EXPECT_TRUE(chunks[i]["choices"][0].contains("token_ids"));
    EXPECT_TRUE(chunks[i]["choices"][0]["token_ids"].is_null());
  }
  EXPECT_EQ(keys(chunks[3]), (std::vector<std::string>{"id", "object", "created", "model",
                                                       "choices", "usage"}));
}

TEST(ReturnTokenIds, CompletionStreamIdsConcatenateToTheWholeResponse) {
  ApiHarness h;
  h.engine.set_planner(uneven_plan);
  json request = {{"prompt", "hey"}, {"max_tokens", 8}, {"return_token_ids", true}};
  auto whole = h.post("/v1/completions", request);
  ASSERT_EQ(whole->status, 200) << whole->body;
  const Ids output = ids_of(ordered(*whole)["choices"][0]["token_ids"]);
  EXPECT_EQ(output, (Ids{200, 201, 120, 121, 122}));

  request["stream"] = true;
  auto streamed = h.post("/v1/completions", request);
  auto chunks = ordered_chunks(*streamed);
  ASSERT_EQ(chunks.size(), 3u) << streamed->body;
  Ids joined;
  std::string text;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ordered_json& choice = chunks[i]["choices"][0];
    EXPECT_EQ(keys(choice), (std::vector<std::string>{"index", "text", "logprobs",
                                                      "finish_reason", "stop_reason",
                                                      "prompt_token_ids", "token_ids"}));
    if (i == 0) {
      EXPECT_EQ(ids_of(choice["prompt_token_ids"]), (Ids{'h', 'e', 'y'}));
    } else {
      EXPECT_TRUE(choice["prompt_token_ids"].is_null()) << "prompt ids on the first chunk only";
    }
    for (int32_t id : ids_of(choice["token_ids"])) joined.push_back(id);
    text += choice["text"].get<std::string>();
  }
  EXPECT_EQ(joined, output);
  EXPECT_EQ(text, "xyz");
}

TEST(ReturnTokenIds, ChatCarriesPromptIdsAtTheTopAndOutputIdsOnTheChoice) {
  ApiHarness h;
  auto r = h.post("/v1/chat/completions",
                  {{"messages", user("hi")}, {"max_tokens", 3}, {"return_token_ids", true}});
  ASSERT_EQ(r->status, 200) << r->body;
  ordered_json body = ordered(*r);
  ASSERT_EQ(h.engine.submitted().size(), 1u);
  const Ids prompt = h.engine.submitted()[0].prompt_ids;
  EXPECT_EQ(ids_of(body["prompt_token_ids"]), prompt);
  EXPECT_EQ(prompt.size(), size_t(body["usage"]["prompt_tokens"].get<int>()));
  EXPECT_EQ(ids_of(body["choices"][0]["token_ids"]), (Ids{'a', 'b', 'c'}));
  EXPECT_EQ(keys(body), (std::vector<std::string>{"id", "object", "created", "model", "choices",
                                                  "service_tier", "system_fingerprint", "usage",
                                                  "prompt_logprobs", "prompt_token_ids",
                                                  "kv_transfer_params"}));
  EXPECT_EQ(keys(body["choices"][0]),
            (std::vector<std::string>{"index", "message", "logprobs", "finish_reason",
                                      "stop_reason", "token_ids"}));
}

TEST(ReturnTokenIds, ChatStreamSendsPromptIdsFirstAndEachChunksNewIds) {
  ApiHarness h;
  h.engine.set_planner(uneven_plan);
  json request = {{"messages", user("hi")}, {"return_token_ids", true}};
  auto whole = h.post("/v1/chat/completions", request);
  ASSERT_EQ(whole->status, 200) << whole->body;
  const Ids output = ids_of(ordered(*whole)["choices"][0]["token_ids"]);
  const Ids prompt = h.engine.submitted().back().prompt_ids;

  request["stream"] = true;
  request["stream_options"] = {{"include_usage", true}, {"continuous_usage_stats", true}};
  auto streamed = h.post("/v1/chat/completions", request);
  auto chunks = ordered_chunks(*streamed);
  ASSERT_EQ(chunks.size(), 5u) << streamed->body;  // role, 3 deltas, usage
  EXPECT_EQ(ids_of(chunks[0]["prompt_token_ids"]), prompt);
  EXPECT_EQ(keys(chunks[0]), (std::vector<std::string>{"id", "object", "created", "model",
                                                       "choices", "usage",
                                                       "prompt_token_ids"}));
  EXPECT_FALSE(chunks[0]["choices"][0].contains("token_ids"));
  Ids joined;
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_FALSE(chunks[i].contains("prompt_token_ids")) << "prompt ids on the first chunk only";
    for (int32_t id : ids_of(chunks[i]["choices"][0]["token_ids"])) joined.push_back(id);
  }
  EXPECT_EQ(joined, output);
  EXPECT_EQ(keys(chunks[3]["choices"][0]),
            (std::vector<std::string>{"index", "delta", "logprobs", "finish_reason",
                                      "stop_reason", "token_ids"}));
  EXPECT_FALSE(chunks[4].contains("prompt_token_ids"));
  EXPECT_TRUE(chunks[4]["choices"].empty());
}

TEST(ReturnTokenIds, EchoSendsThePromptAsIdsInsteadOfText) {
  // vLLM: with return_token_ids the echoed prompt comes back as prompt_token_ids, not as text.
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}, {"echo", true},
                                      {"return_token_ids", true}});
  ordered_json choice = ordered(*r)["choices"][0];
  EXPECT_EQ(choice["text"], "ab");
  EXPECT_EQ(ids_of(choice["prompt_token_ids"]), (Ids{'h', 'i'}));
  auto plain = h.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}, {"echo", true}});
  EXPECT_EQ(ordered(*plain)["choices"][0]["text"], "hiab");
}

TEST(ReturnTokenIds, TokenIdPromptsComeBackAsSent) {
  ApiHarness h;
  auto r = h.post("/v1/completions",
                  {{"prompt", {5, 6, 7}}, {"max_tokens", 1}, {"return_token_ids", true}});
  EXPECT_EQ(ids_of(ordered(*r)["choices"][0]["prompt_token_ids"]), (Ids{5, 6, 7}));
}

TEST(AddSpecialTokens, CompletionsAddThemByDefaultAndChatDoesNot) {
  ApiHarness h;
  h.codec->bos_token_id = 256;  // a tokenizer whose post-processor adds a BOS (Llama's)
  auto r = h.post("/v1/completions",
                  {{"prompt", "hi"}, {"max_tokens", 1}, {"return_token_ids", true}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, (Ids{256, 'h', 'i'}));
  EXPECT_EQ(ids_of(ordered(*r)["choices"][0]["prompt_token_ids"]), (Ids{256, 'h', 'i'}));
  EXPECT_EQ(r->json()["usage"]["prompt_tokens"], 3);

  h.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 1}, {"add_special_tokens", false}});
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, (Ids{'h', 'i'}));

  // Token-id prompts are used as sent.
  h.post("/v1/completions", {{"prompt", {5, 6}}, {"max_tokens", 1}, {"add_special_tokens", true}});
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, (Ids{5, 6}));

  h.post("/v1/chat/completions", {{"messages", user("hi")}, {"max_tokens", 1}});
  const Ids chat = h.engine.submitted().back().prompt_ids;
  ASSERT_FALSE(chat.empty());
  EXPECT_NE(chat.front(), 256);
  h.post("/v1/chat/completions",
         {{"messages", user("hi")}, {"max_tokens", 1}, {"add_special_tokens", true}});
  Ids with_bos = {256};
  with_bos.insert(with_bos.end(), chat.begin(), chat.end());
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, with_bos);
}

TEST(AddSpecialTokens, TokenizeFollowsTheSameDefaults) {
  ApiHarness h;
  h.codec->bos_token_id = 256;
  EXPECT_EQ(h.post("/tokenize", {{"prompt", "hi"}})->json()["tokens"], json({256, 'h', 'i'}));
  EXPECT_EQ(h.post("/tokenize", {{"prompt", "hi"}, {"add_special_tokens", false}})->json()["tokens"],
            json({'h', 'i'}));
  json chat = h.post("/tokenize", {{"messages", user("hi")}})->json()["tokens"];
  EXPECT_NE(chat[0], 256);
  json chat_bos =
      h.post("/tokenize", {{"messages", user("hi")}, {"add_special_tokens", true}})->json()["tokens"];
  EXPECT_EQ(chat_bos[0], 256);
  EXPECT_EQ(chat_bos.size(), chat.size() + 1);
}

TEST(AddSpecialTokens, ATokenizerWithoutSpecialTokensAddsNone) {
  // Qwen3's tokenizer.json post-processor is ByteLevel: add_special_tokens changes nothing.
  ApiHarness h;
  auto r = h.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 1}, {"add_special_tokens", true}});
  EXPECT_EQ(h.engine.submitted().back().prompt_ids, (Ids{'h', 'i'}));
  auto tokenizer = tokenizer::Tokenizer::load(default_tokenizer_dir());
  ASSERT_TRUE(tokenizer) << tokenizer.error().message();
  auto codec = make_tokenizer_codec(*tokenizer);
  auto with = codec->encode_prompt("Hello, world", true);
  auto without = codec->encode_prompt("Hello, world", false);
  ASSERT_TRUE(with && without);
  EXPECT_EQ(*with, *without);
  EXPECT_FALSE(with->empty());
}

}  // namespace
}  // namespace kvtier::server::testing
