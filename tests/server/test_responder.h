#pragma once
// A Responder that records what the handler sends, and an Api harness that drives requests
// through the real handler with the fake engine and codec on one thread: posted work is queued
// and run by the test, the worker pool runs tasks inline, the engine steps when told to.
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/api.h"
#include "fake_codec.h"
#include "fake_engine.h"

namespace kvtier::server::testing {

class TestResponder final : public Responder {
 public:
  void send(HttpResponse response) override {
    EXPECT_FALSE(ended) << "a second response for one exchange";
    status = response.status;
    content_type = response.content_type;
    headers = response.headers;
    body = response.body;
    ended = true;
  }
  void begin_stream(std::string type) override {
    status = 200;
    streamed = true;
    content_type = std::move(type);
  }
  bool write(std::string data) override {
    EXPECT_TRUE(streamed) << "write before begin_stream";
    if (!open) return false;
    body += data;
    return true;
  }
  void end_stream() override { ended = true; }
  bool is_open() const override { return open; }
  void post(std::function<void()> fn) override {
    std::lock_guard lock(mu);
    tasks.push_back(std::move(fn));
  }
  void on_disconnect(std::function<void()> fn) override { disconnect = std::move(fn); }

  // Runs posted work until none is left.
  void run_posted() {
    for (;;) {
      std::function<void()> fn;
      {
        std::lock_guard lock(mu);
        if (tasks.empty()) return;
        fn = std::move(tasks.front());
        tasks.pop_front();
      }
      fn();
    }
  }
  void drop_client() {
    open = false;
    if (disconnect) disconnect();
  }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
  // The SSE events' payloads in order ("[DONE]" stays a string).
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < body.size()) {
      size_t end = body.find("\n\n", pos);
      EXPECT_NE(end, std::string::npos) << "an SSE event without its blank line";
      if (end == std::string::npos) break;
      std::string event = body.substr(pos, end - pos);
      EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
      out.push_back(event.substr(6));
      pos = end + 2;
    }
    return out;
  }
  // The JSON events (all but [DONE]).
  std::vector<nlohmann::json> chunks() const {
    std::vector<nlohmann::json> out;
    for (const auto& e : events()) {
      if (e != "[DONE]") out.push_back(nlohmann::json::parse(e));
    }
    return out;
  }

  int status = 0;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool streamed = false;
  bool ended = false;
  bool open = true;
  std::function<void()> disconnect;
  std::mutex mu;
  std::deque<std::function<void()>> tasks;
};

struct ApiHarness {
  explicit ApiHarness(ApiConfig config = {}, engine::EngineInfo info = fake_engine_info())
      : engine(std::move(info)),
        codec(std::make_shared<FakeCodec>()),
        api(engine, codec, with_names(std::move(config)),
            [](std::function<void()> task) {
              task();
              return true;
            }) {}

  static ApiConfig with_names(ApiConfig config) {
    if (config.served_model_names.empty()) config.served_model_names = {"fake-model"};
    return config;
  }

  // Handles the request and runs the engine until the exchange ended.
  std::shared_ptr<TestResponder> run(const std::string& method, const std::string& path,
                                     const std::string& body,
                                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto r = start(method, path, body, std::move(headers));
    for (int i = 0; i < 10000 && !r->ended; ++i) {
      engine.step();
      r->run_posted();
    }
    EXPECT_TRUE(r->ended) << method << " " << path << " did not finish";
    return r;
  }
  std::shared_ptr<TestResponder> post(const std::string& path, const nlohmann::json& body) {
    return run("POST", path, body.dump());
  }
  std::shared_ptr<TestResponder> start(const std::string& method, const std::string& path,
                                       const std::string& body,
                                       std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest request;
    request.method = method;
    request.target = path;
    request.body = body;
    request.headers = std::move(headers);
    auto r = std::make_shared<TestResponder>();
    api.handle(std::move(request), r);
    r->run_posted();
    return r;
  }

  FakeEngine engine;
  std::shared_ptr<FakeCodec> codec;
  Api api;
};

}  // namespace kvtier::server::testing
