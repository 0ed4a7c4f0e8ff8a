// allowed_token_ids and bad_words: what the API hands the engine, how bad words become token ids
// (vLLM's rule, with the real Qwen3 tokenizer too), and over HTTP with the real engine on the
// fake model that sampled tokens stay inside allowed_token_ids and a banned word never comes.
#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "engine/engine.h"
#include "engine/engine_test_util.h"
#include "server/bad_words.h"
#include "server/http_server.h"
#include "server/http_test_client.h"
#include "server/task_pool.h"
#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;

TEST(TokenRestrictions, BothApisHandTheEngineTheIdsAndTheWordsAsTokenIds) {
  ApiHarness h;
  auto r = h.run("POST", "/v1/completions",
                 R"({"prompt": "hi", "max_tokens": 2, "allowed_token_ids": [97, 98, 98],
                     "bad_words": ["b", "  xy"]})");
  ASSERT_EQ(r->status, 200) << r->body;
  const engine::SamplingParams s = h.engine.submitted().at(0).sampling;
  EXPECT_EQ(s.allowed_token_ids, (std::vector<int32_t>{97, 98, 98}));
  // The byte codec: " b" is two tokens where "b" is one, so only the bare form counts (vLLM's
  // rule keeps the spaced form only at the same length); leading spaces are stripped first.
  EXPECT_EQ(s.bad_words_token_ids, (std::vector<std::vector<int32_t>>{{98}, {120, 121}}));

  auto chat = h.run("POST", "/v1/chat/completions",
                    R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2,
                        "stream": true, "allowed_token_ids": [5], "bad_words": ["q"]})");
  ASSERT_EQ(chat->status, 200) << chat->body;
  const engine::SamplingParams c = h.engine.submitted().at(1).sampling;
  EXPECT_EQ(c.allowed_token_ids, (std::vector<int32_t>{5}));
  EXPECT_EQ(c.bad_words_token_ids, (std::vector<std::vector<int32_t>>{{'q'}}));

  // null and an empty bad_words list ask for nothing.
  auto plain = h.run("POST", "/v1/completions",
                     R"({"prompt": "hi", "allowed_token_ids": null, "bad_words": []})");
  ASSERT_EQ(plain->status, 200) << plain->body;
  EXPECT_TRUE(h.engine.submitted().at(2).sampling.allowed_token_ids.empty());
  EXPECT_TRUE(h.engine.submitted().at(2).sampling.bad_words_token_ids.empty());
}

// Folds a space into the lower-case letter after it (" a" is one token, 256 + letter), as
// byte-level BPE vocabularies fold a word's leading space.
class SpaceFoldingCodec final : public TextCodec {
 public:
  Expected<std::vector<int32_t>> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == ' ' && i + 1 < text.size() && text[i + 1] >= 'a' && text[i + 1] <= 'z') {
        ids.push_back(256 + (text[++i] - 'a'));
      } else {
        ids.push_back(int32_t(static_cast<unsigned char>(text[i])));
      }
    }
    return ids;
  }
  Expected<std::string> render_chat(const nlohmann::ordered_json&,
                                    const tokenizer::ChatOptions&) const override {
    return std::string();
  }
  std::string decode(std::span<const int32_t>, bool) const override { return {}; }
  std::string token_text(int32_t) const override { return {}; }
  std::string token_bytes(int32_t) const override { return {}; }
  int32_t vocab_size() const override { return 300; }
};

TEST(BadWordsTokenIds, KeepsTheSpacedFormOnlyAtTheSameLengthWithAnotherFirstToken) {
  SpaceFoldingCodec codec;
  auto ids = bad_words_token_ids({"ab", "\t cd", "9x"}, codec, 300);
  ASSERT_TRUE(ids.has_value()) << ids.status().to_string();
  const std::vector<std::vector<int32_t>> want = {
      {'a', 'b'}, {256, 'b'},  // " ab" folds: same length, new first token
      {'c', 'd'}, {258, 'd'},  // leading whitespace stripped before both forms
      {'9', 'x'},              // " 9x" is three tokens: not kept
  };
  EXPECT_EQ(*ids, want);

  // A spaced form outside the vocabulary is an error only when it is kept.
  auto small = bad_words_token_ids({"ab"}, codec, 256);
  ASSERT_FALSE(small.has_value());
  EXPECT_NE(small.status().message().find("bad_words[0] has token id 256"), std::string::npos)
      << small.status().to_string();
  EXPECT_TRUE(bad_words_token_ids({"9x"}, codec, 256).has_value());

  auto empty = bad_words_token_ids({"a", ""}, codec, 300);
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.status().message().find("bad_words[1] is empty"), std::string::npos);
}

TEST(BadWordsTokenIds, WithTheQwen3Tokenizer) {
  auto tok = tokenizer::Tokenizer::load(default_tokenizer_dir());
  ASSERT_TRUE(tok.has_value()) << tok.status().to_string();
  auto codec = make_tokenizer_codec(*tok);
  auto ids = bad_words_token_ids({"hello", "the capital", "unbelievable"}, *codec,
                                 codec->vocab_size());
  ASSERT_TRUE(ids.has_value()) << ids.status().to_string();
  const std::vector<std::vector<int32_t>> want = {
      {14990}, {23811},            // "hello", " hello"
      {1782, 6722}, {279, 6722},   // "the capital", " the capital"
      {359, 31798, 23760},         // " unbelievable" is one token: vLLM keeps only this form
  };
  EXPECT_EQ(*ids, want);
}

// The real HTTP server and API over the real engine (stepping on its own thread) on the fake
// model runner, with the byte codec: the fake model's vocabulary is the codec's 300 ids.
class EngineServer {
 public:
  EngineServer() {
    engine::testing::FakeModelRunner::Options o;
    o.vocab_size = 300;
    engine::EngineParts parts;
    parts.runner = std::make_unique<engine::testing::FakeModelRunner>(o);
    engine::EngineConfig config = engine::testing::small_config();
    config.seed = 17;
    auto engine = engine::Engine::create(config, std::move(parts));
    if (!engine) throw std::runtime_error(engine.status().to_string());
    engine_ = std::move(engine).value();
    engine_->start();
    pool_ = std::make_unique<TaskPool>(2, 64);
    ApiConfig api;
    api.served_model_names = {"fake-model"};
    api_ = std::make_unique<Api>(*engine_, std::make_shared<FakeCodec>(), api,
                                 [p = pool_.get()](std::function<void()> task) {
                                   return p->try_submit(std::move(task));
                                 });
    HttpServerConfig http;
    http.host = "127.0.0.1";
    http.port = 0;
    auto server = HttpServer::start(
        http, [a = api_.get()](HttpRequest r, std::shared_ptr<Responder> responder) {
          a->handle(std::move(r), std::move(responder));
        });
    if (!server) throw std::runtime_error(server.error().message());
    server_ = std::move(*server);
  }

  // The engine lets go of its sinks (which hold connections) before the server goes.
  ~EngineServer() {
    server_->shutdown(std::chrono::milliseconds(0));
    engine_->shutdown(/*finish_accepted=*/false);
    pool_->stop();
    engine_.reset();
    api_.reset();
    server_.reset();
  }

  ClientResponse post(const std::string& path, const json& body) {
    HttpTestClient client(server_->port());
    return client.request("POST", path, body.dump());
  }

 private:
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<TaskPool> pool_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

// The sampled tokens' texts, from the logprobs of a response, streamed or not, in either API.
std::vector<std::string> sampled_tokens(const ClientResponse& r, bool chat) {
  std::vector<json> bodies;
  if (r.body.rfind("data: ", 0) == 0) {
    size_t pos = 0;
    while ((pos = r.body.find("data: ", pos)) != std::string::npos) {
      const size_t end = r.body.find("\n\n", pos);
      const std::string event = r.body.substr(pos + 6, end - pos - 6);
      pos = end;
      if (event != "[DONE]") bodies.push_back(json::parse(event));
    }
  } else {
    bodies.push_back(json::parse(r.body));
  }
  std::vector<std::string> out;
  for (const json& b : bodies) {
    if (b["choices"].empty()) continue;  // a usage chunk
    const json& lp = b["choices"][0]["logprobs"];
    if (lp.is_null()) continue;  // chat's role chunk
    if (chat) {
      for (const json& e : lp["content"]) out.push_back(e["token"].get<std::string>());
    } else {
      for (const json& t : lp["tokens"]) out.push_back(t.get<std::string>());
    }
  }
  return out;
}

json completion_body(int max_tokens, bool stream) {
  return {{"prompt", "The quick brown fox"}, {"max_tokens", max_tokens}, {"temperature", 0.9},
          {"seed", 3},         {"logprobs", 0},           {"stream", stream}};
}

json chat_body(int max_tokens, bool stream) {
  return {{"messages", json::array({{{"role", "user"}, {"content", "Name a colour"}}})},
          {"max_tokens", max_tokens}, {"temperature", 0.9}, {"seed", 3}, {"logprobs", true},
          {"stream", stream}};
}

TEST(TokenRestrictionsHttp, SampledTokensStayInsideAllowedTokenIds) {
  EngineServer server;
  const std::vector<int32_t> allowed = {'a', 'e', 'o', 'z', 290};
  const std::set<std::string> allowed_text = {"a", "e", "o", "z", "<290>"};
  for (bool chat : {false, true}) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(std::string(chat ? "chat" : "completions") + (stream ? ", streamed" : ""));
      const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
      json body = chat ? chat_body(24, stream) : completion_body(24, stream);
      // Without the list the model wanders over its whole vocabulary.
      ClientResponse free = server.post(path, body);
      ASSERT_EQ(free.status, 200) << free.body;
      const auto free_tokens = sampled_tokens(free, chat);
      ASSERT_EQ(free_tokens.size(), 24u);
      EXPECT_TRUE(std::any_of(free_tokens.begin(), free_tokens.end(),
                              [&](const std::string& t) { return !allowed_text.count(t); }));

      body["allowed_token_ids"] = allowed;
      ClientResponse r = server.post(path, body);
      ASSERT_EQ(r.status, 200) << r.body;
      const auto tokens = sampled_tokens(r, chat);
      ASSERT_EQ(tokens.size(), 24u) << r.body;
      for (const std::string& t : tokens) EXPECT_TRUE(allowed_text.count(t)) << t;
      // 24 draws over 5 ids at temperature 0.9: more than one of them shows.
      EXPECT_GT(std::set<std::string>(tokens.begin(), tokens.end()).size(), 1u);
    }
  }
}

TEST(TokenRestrictionsHttp, ABannedWordsTokenNeverComes) {
  EngineServer server;
  // Greedy over ten letters; the first token of the unbanned answer is then banned.
  const std::vector<int32_t> letters = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
  for (bool chat : {false, true}) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(std::string(chat ? "chat" : "completions") + (stream ? ", streamed" : ""));
      const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
      json body = chat ? chat_body(16, stream) : completion_body(16, stream);
      body["temperature"] = 0;
      body["allowed_token_ids"] = letters;
      ClientResponse plain = server.post(path, body);
      ASSERT_EQ(plain.status, 200) << plain.body;
      const auto first = sampled_tokens(plain, chat);
      ASSERT_EQ(first.size(), 16u);

      body["bad_words"] = json::array({first[0]});
      ClientResponse one = server.post(path, body);
      ASSERT_EQ(one.status, 200) << one.body;
      const auto banned = sampled_tokens(one, chat);
      ASSERT_EQ(banned.size(), 16u);
      EXPECT_EQ(std::count(banned.begin(), banned.end(), first[0]), 0) << one.body;

      // Two letters as one word: the first may come, never followed by the second.
      body["bad_words"] = json::array({first[0] + first[1]});
      ClientResponse two = server.post(path, body);
      ASSERT_EQ(two.status, 200) << two.body;
      const auto pair = sampled_tokens(two, chat);
      ASSERT_EQ(pair.size(), 16u);
      EXPECT_EQ(pair[0], first[0]);
      for (size_t i = 1; i < pair.size(); ++i) {
        EXPECT_FALSE(pair[i - 1] == first[0] && pair[i] == first[1]) << "at " << i;
      }
    }
  }
}

TEST(TokenRestrictionsHttp, OutOfVocabularyIdsAndBadTypesAre400s) {
  EngineServer server;
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"allowed_token_ids", {1, 300}}}, "allowed_token_ids: token id 300 is out of vocabulary"},
      {{{"allowed_token_ids", "a"}}, "allowed_token_ids must be a list of integers"},
      {{{"allowed_token_ids", json::array()}}, "allowed_token_ids is empty"},
      {{{"bad_words", {"ok", 3}}}, "bad_words[1] must be a string"},
  };
  for (bool chat : {false, true}) {
    for (const auto& [extra, message] : cases) {
      json body = chat ? chat_body(4, false) : completion_body(4, false);
      body.update(extra);
      ClientResponse r = server.post(chat ? "/v1/chat/completions" : "/v1/completions", body);
      EXPECT_EQ(r.status, 400) << r.body;
      const json error = json::parse(r.body)["error"];
      EXPECT_EQ(error["code"], 400);
      EXPECT_NE(error["message"].get<std::string>().find(message), std::string::npos)
          << error.dump();
    }
  }
}

}  // namespace
}  // namespace kvtier::server::testing
