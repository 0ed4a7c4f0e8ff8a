// API keys as vLLM checks them: the Bearer scheme in any case, CORS preflights (OPTIONS) not
// authenticated, the key compared in constant time.
#include <gtest/gtest.h>

#include "server/auth.h"
#include "test_responder.h"

namespace kvtier::server {
namespace {

using testing::ApiHarness;

TEST(HostileAuth, SchemeIsCaseInsensitive) {
  ApiConfig config;
  config.api_key = "sekret";
  ApiHarness h(config);
  const std::string body = R"({"prompt": "hi", "max_tokens": 2})";
  for (const char* header : {"Bearer sekret", "bearer sekret", "BEARER sekret", "bEaReR  sekret"})
    EXPECT_EQ(h.run("POST", "/v1/completions", body, {{"authorization", header}})->status, 200)
        << header;
  for (const char* header : {"Bearer sekre", "Bearer sekretX", "Basic sekret", "sekret", "Bearer",
                             "Bearersekret", "Bearer SEKRET"})
    EXPECT_EQ(h.run("POST", "/v1/completions", body, {{"authorization", header}})->status, 401)
        << header;
}

TEST(HostileAuth, CorsPreflightIsNotAuthenticated) {
  ApiConfig config;
  config.api_key = "sekret";
  ApiHarness h(config);
  auto r = h.run("OPTIONS", "/v1/chat/completions", "",
                 {{"origin", "http://localhost:3000"},
                  {"access-control-request-method", "POST"},
                  {"access-control-request-headers", "authorization,content-type"}});
  EXPECT_EQ(r->status, 200) << r->body;
  auto header = [&](const std::string& name) -> std::string {
    for (const auto& [k, v] : r->headers)
      if (k == name) return v;
    return "(none)";
  };
  EXPECT_EQ(header("Access-Control-Allow-Origin"), "*");
  EXPECT_NE(header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_EQ(header("Access-Control-Allow-Headers"), "authorization,content-type");
  EXPECT_TRUE(h.engine.submitted().empty());
  // Only OPTIONS skips the key.
  EXPECT_EQ(h.run("GET", "/v1/models", "", {{"origin", "http://localhost:3000"}})->status, 401);
}

TEST(HostileAuth, ConstantTimeEqualCompares) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("sekret", "sekret"));
  EXPECT_FALSE(constant_time_equal("sekret", "sekreT"));
  EXPECT_FALSE(constant_time_equal("sekret", "sekre"));
  EXPECT_FALSE(constant_time_equal("sekre", "sekret"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace kvtier::server
