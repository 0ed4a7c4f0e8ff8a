// vLLM's /ping (SageMaker's health check, on GET and POST) and /load (the generation requests
// in flight, counted only with --enable-server-load-tracking as vLLM's load_aware_call does).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

TEST(Ping, AnswersLikeHealthOnGetAndPost) {
  ApiHarness h;
  for (const char* method : {"GET", "POST", "HEAD"}) {
    auto r = h.run(method, "/ping", "");
    EXPECT_EQ(r->status, 200) << method;
    EXPECT_TRUE(r->body.empty()) << method;
  }
  auto put = h.run("PUT", "/ping", "");
  EXPECT_EQ(put->status, 405);
  EXPECT_NE(put->body.find("use GET, POST"), std::string::npos) << put->body;
  // /health itself stays GET-only, as vLLM's.
  EXPECT_EQ(h.run("POST", "/health", "")->status, 405);

  h.api.begin_drain();
  EXPECT_EQ(h.run("GET", "/ping", "")->status, 503);
  EXPECT_EQ(h.run("POST", "/ping", "")->status, 503);
}

int64_t server_load(ApiHarness& h) {
  auto r = h.run("GET", "/load", "");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type.rfind("application/json", 0), 0u) << r->content_type;
  auto body = r->json();
  EXPECT_EQ(body.size(), 1u) << r->body;
  return body.at("server_load").get<int64_t>();
}

TEST(Load, CountsGenerationRequestsInFlightWhenTracked) {
  ApiConfig config;
  config.enable_server_load_tracking = true;
  ApiHarness h(config);
  EXPECT_EQ(server_load(h), 0);
  // Two requests accepted; the engine has not stepped, so both are in flight.
  auto a = h.start("POST", "/v1/completions", R"({"prompt": "ab", "max_tokens": 3})");
  auto b = h.start("POST", "/v1/chat/completions",
                   R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 2,
                       "stream": true})");
  EXPECT_EQ(server_load(h), 2);
  // Requests that are not generations are not load.
  h.run("POST", "/tokenize", R"({"prompt": "abc"})");
  EXPECT_EQ(server_load(h), 2);
  while (!a->ended || !b->ended) {
    h.engine.step();
    a->run_posted();
    b->run_posted();
  }
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(server_load(h), 0);
  // A rejected request was load only while it was handled.
  EXPECT_EQ(h.run("POST", "/v1/completions", R"({"prompt": ""})")->status, 400);
  EXPECT_EQ(server_load(h), 0);
  EXPECT_EQ(h.run("POST", "/load", "")->status, 405);
}

TEST(Load, IsZeroWithoutTracking) {
  ApiHarness h;
  auto a = h.start("POST", "/v1/completions", R"({"prompt": "ab", "max_tokens": 3})");
  EXPECT_EQ(h.api.in_flight(), 1);
  EXPECT_EQ(server_load(h), 0);
  while (!a->ended) {
    h.engine.step();
    a->run_posted();
  }
}

}  // namespace
}  // namespace kvtier::server::testing
