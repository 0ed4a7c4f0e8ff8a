// Parsing and tokenization run in the worker pool, never on the connection's thread: a long
// prompt delays only its own request. The offload function here queues tasks so the test can
// see what handle() did before any of them ran.
#include <atomic>
#include <deque>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

class CountingCodec final : public TextCodec {
 public:
  Expected<std::vector<int32_t>> encode(std::string_view text) const override {
    ++encodes;
    return inner.encode(text);
  }
  Expected<std::string> render_chat(const nlohmann::ordered_json& messages,
                                    const tokenizer::ChatOptions& options) const override {
    ++renders;
    return inner.render_chat(messages, options);
  }
  std::string decode(std::span<const int32_t> ids, bool skip) const override {
    return inner.decode(ids, skip);
  }
  std::string token_text(int32_t id) const override { return inner.token_text(id); }
  std::string token_bytes(int32_t id) const override { return inner.token_bytes(id); }
  int32_t vocab_size() const override { return inner.vocab_size(); }

  FakeCodec inner;
  mutable std::atomic<int> encodes{0};
  mutable std::atomic<int> renders{0};
};

TEST(ApiOffload, GenerationWorkWaitsForTheWorkerPool) {
  engine::EngineInfo info = fake_engine_info();
  info.max_model_len = 1 << 20;
  FakeEngine engine(info);
  auto codec = std::make_shared<CountingCodec>();
  std::deque<std::function<void()>> pool;
  ApiConfig config;
  config.served_model_names = {"fake-model"};
  Api api(engine, codec, config, [&](std::function<void()> task) {
    pool.push_back(std::move(task));
    return true;
  });

  auto completion = std::make_shared<TestResponder>();
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1/completions";
  request.body = R"({"prompt": ")" + std::string(10000, 'x') + R"(", "max_tokens": 2})";
  api.handle(request, completion);
  auto chat = std::make_shared<TestResponder>();
  request.target = "/v1/chat/completions";
  request.body = R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})";
  api.handle(request, chat);

  // handle() returned without parsing, templating or tokenizing anything.
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(codec->encodes, 0);
  EXPECT_EQ(codec->renders, 0);
  EXPECT_FALSE(completion->ended);
  EXPECT_EQ(api.in_flight(), 2);

  // Meanwhile the connection thread answers other requests at once.
  auto health = std::make_shared<TestResponder>();
  api.handle(HttpRequest{"GET", "/health", {}, ""}, health);
  EXPECT_TRUE(health->ended);
  EXPECT_EQ(health->status, 200);

  while (!pool.empty()) {
    pool.front()();
    pool.pop_front();
  }
  EXPECT_EQ(codec->encodes, 2);
  EXPECT_EQ(codec->renders, 1);
  // The tokenized requests reach the engine only from the connection's executor.
  EXPECT_TRUE(engine.submitted().empty());
  completion->run_posted();
  chat->run_posted();
  ASSERT_EQ(engine.submitted().size(), 2u);
  EXPECT_EQ(engine.submitted()[0].prompt_ids.size(), 10000u);
  engine.run_until_idle();
  completion->run_posted();
  chat->run_posted();
  EXPECT_EQ(completion->status, 200);
  EXPECT_EQ(chat->status, 200);
  EXPECT_EQ(api.in_flight(), 0);
}

}  // namespace
}  // namespace kvtier::server::testing
