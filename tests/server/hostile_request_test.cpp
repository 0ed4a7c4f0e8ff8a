// An allocation that fails while a request is prepared is an error response naming the request's
// size, not "internal error: std::bad_alloc" and never an abort.
#include <gtest/gtest.h>

#include <new>

#include "test_responder.h"

namespace kvtier::server {
namespace {

using testing::FakeCodec;
using testing::FakeEngine;
using testing::TestResponder;

// Runs out of memory on every prompt, as a huge input would.
class ExhaustedCodec final : public TextCodec {
 public:
  Expected<std::vector<int32_t>> encode(std::string_view) const override { throw std::bad_alloc(); }
  Expected<std::string> render_chat(const nlohmann::ordered_json&,
                                    const tokenizer::ChatOptions&) const override {
    throw std::bad_alloc();
  }
  std::string decode(std::span<const int32_t> ids, bool skip) const override {
    return inner_.decode(ids, skip);
  }
  std::string token_text(int32_t id) const override { return inner_.token_text(id); }
  std::string token_bytes(int32_t id) const override { return inner_.token_bytes(id); }
  int32_t vocab_size() const override { return inner_.vocab_size(); }

 private:
  FakeCodec inner_;
};

TEST(HostileRequest, OutOfMemoryPreparingARequestNamesItsSize) {
  FakeEngine engine(testing::fake_engine_info());
  ApiConfig config;
  config.served_model_names = {"fake-model"};
  Api api(engine, std::make_shared<ExhaustedCodec>(), config, [](std::function<void()> task) {
    task();
    return true;
  });
  for (const char* path : {"/v1/completions", "/v1/chat/completions", "/tokenize"}) {
    const std::string body = std::string(path) == "/v1/chat/completions"
                                 ? R"({"messages": [{"role": "user", "content": "hi"}]})"
                                 : R"({"prompt": "hi"})";
    HttpRequest request;
    request.method = "POST";
    request.target = path;
    request.body = body;
    auto r = std::make_shared<TestResponder>();
    api.handle(std::move(request), r);
    r->run_posted();
    ASSERT_TRUE(r->ended) << path;
    EXPECT_EQ(r->status, 413) << path << " " << r->body;
    const std::string message = r->json()["error"]["message"];
    EXPECT_NE(message.find("out of memory"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(body.size()) + " bytes"), std::string::npos) << message;
    EXPECT_EQ(message.find("bad_alloc"), std::string::npos) << message;
    EXPECT_TRUE(engine.submitted().empty());
  }
}

}  // namespace
}  // namespace kvtier::server
