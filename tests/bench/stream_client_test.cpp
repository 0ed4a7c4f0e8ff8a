#include "bench/stream_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "bench/scripted_server.h"
#include "test_support.h"

namespace kvtier::bench {
namespace {

using testing::call_once;
using testing::chat_call;

struct Fixture {
  std::unique_ptr<ScriptedServer> server;
  std::unique_ptr<StreamClient> client;
  explicit Fixture(ScriptedServerOptions options, HttpOptions http = {}) {
    server = std::move(ScriptedServer::start(std::move(options))).value();
    auto target = parse_target(server->url());
    client = std::move(StreamClient::create(*target, http, 1)).value();
  }
};

TEST(StreamClient, StreamedChatRequest) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.ttft_s = 0.05;
    r.itl_s = 0.01;
    r.prompt_tokens = 12;
    r.cached_tokens = 8;
    return r;
  };
  Fixture f(std::move(options));
  RequestRecord r = call_once(*f.client, chat_call(5));
  ASSERT_EQ(r.status, RequestStatus::kSuccessful) << r.error;
  EXPECT_EQ(*r.prompt_tokens, 12);
  EXPECT_EQ(*r.output_tokens, 5);
  EXPECT_EQ(*r.cached_tokens, 8);
  EXPECT_EQ(r.token_iterations, 5);
  EXPECT_EQ(r.output, "tok tok tok tok tok ");
  EXPECT_EQ(r.response_id, "chatcmpl-0");
  ASSERT_TRUE(r.request_start && r.first_token && r.last_token && r.request_end);
  // The server holds the first token back 50 ms and spaces tokens 10 ms apart: the client
  // cannot see them earlier (the role chunk at once does not count as a token). Bounds from the
  // request's start only: a client thread scheduled late sees the first token late and the
  // rest at once, so the gap between first and last has no lower bound on a loaded machine.
  EXPECT_GE(*r.first_token - *r.request_start, 0.05);
  EXPECT_GE(*r.last_token - *r.request_start, 0.05 + 0.04 - 1e-3);
  EXPECT_GE(*r.last_token, *r.first_token);
  EXPECT_GE(*r.request_end, *r.last_token);
  EXPECT_DOUBLE_EQ(*r.inter_token_latency_ms(), 1000.0 * (*r.last_token - *r.first_token) / 4);
  EXPECT_EQ(r.request_args.find("hello there") != std::string::npos, true);
}

TEST(StreamClient, KeepAliveConnectionsCarrySequentialRequests) {
  Fixture f(ScriptedServerOptions{});
  for (int i = 0; i < 5; ++i) {
    RequestRecord r = call_once(*f.client, chat_call(2));
    ASSERT_EQ(r.status, RequestStatus::kSuccessful) << r.error;
    EXPECT_EQ(*r.output_tokens, 2);
  }
  EXPECT_EQ(f.server->completion_requests(), 5);
}

TEST(StreamClient, NonStreamedRequest) {
  Fixture f(ScriptedServerOptions{});
  RequestRecord r = call_once(*f.client, chat_call(4, /*stream=*/false));
  ASSERT_EQ(r.status, RequestStatus::kSuccessful) << r.error;
  EXPECT_EQ(*r.output_tokens, 4);
  EXPECT_EQ(*r.prompt_tokens, 2);  // the default script counts prompt words
  EXPECT_EQ(r.token_iterations, 1);
}

TEST(StreamClient, PlainJsonWhereAStreamWasExpectedIsErrored) {
  Fixture f(ScriptedServerOptions{});
  auto call = chat_call(3, /*stream=*/false);  // the body asks for no stream...
  call->stream = true;                           // ...but the client expects one
  RequestRecord r = call_once(*f.client, std::move(call));
  EXPECT_EQ(r.status, RequestStatus::kErrored);
  EXPECT_NE(r.error.find("without server-sent events"), std::string::npos) << r.error;
}

TEST(StreamClient, HttpErrorStatusIsErrored) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.status = 503;
    return r;
  };
  Fixture f(std::move(options));
  RequestRecord r = call_once(*f.client, chat_call(5));
  EXPECT_EQ(r.status, RequestStatus::kErrored);
  EXPECT_NE(r.error.find("HTTP 503"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("scripted failure"), std::string::npos) << r.error;
  // The connection stays usable for the next request.
  RequestRecord again = call_once(*f.client, chat_call(1));
  EXPECT_EQ(again.status, RequestStatus::kErrored);
}

TEST(StreamClient, ErrorInsideTheStreamKeepsTokensSoFar) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.error_after_tokens = 2;
    r.prompt_tokens = 3;
    return r;
  };
  Fixture f(std::move(options));
  RequestRecord r = call_once(*f.client, chat_call(6));
  EXPECT_EQ(r.status, RequestStatus::kErrored);
  EXPECT_NE(r.error.find("scripted stream error"), std::string::npos) << r.error;
  EXPECT_EQ(*r.output_tokens, 2);
  EXPECT_EQ(r.token_iterations, 2);
}

TEST(StreamClient, UnreachableServerIsErrored) {
  // Take a free port, then close it so nothing listens there.
  int port = 0;
  {
    auto s = std::move(ScriptedServer::start({})).value();
    port = s->port();
  }
  auto target = parse_target(fmt::format("http://127.0.0.1:{}", port));
  auto client = std::move(StreamClient::create(*target, {}, 1)).value();
  RequestRecord r = call_once(*client, chat_call(3));
  EXPECT_EQ(r.status, RequestStatus::kErrored);
  EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
  EXPECT_FALSE(r.request_start.has_value());
}

TEST(StreamClient, CancelMakesInFlightRequestsIncomplete) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.itl_s = 0.05;
    r.prompt_tokens = 9;
    return r;
  };
  Fixture f(std::move(options));
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto call = chat_call(1000);
  call->stop = stop;
  auto promise = std::make_shared<std::promise<RequestRecord>>();
  auto future = promise->get_future();
  call->done = [promise](RequestRecord&& r) { promise->set_value(std::move(r)); };
  f.client->submit(0, std::move(call));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop->store(true);
  f.client->cancel_in_flight();
  RequestRecord r = future.get();
  EXPECT_EQ(r.status, RequestStatus::kIncomplete) << r.error;
  // Continuous usage reported the tokens produced before the cut.
  ASSERT_TRUE(r.output_tokens.has_value());
  EXPECT_GT(*r.output_tokens, 0);
  EXPECT_LT(*r.output_tokens, 1000);
  EXPECT_EQ(*r.prompt_tokens, 9);
}

TEST(HttpTarget, ParsesGuidellmTargets) {
  auto t = parse_target("http://llm-d-inference-gateway-istio:80");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->host, "llm-d-inference-gateway-istio");
  EXPECT_EQ(t->port, "80");
  EXPECT_EQ(t->path("/v1/models"), "/v1/models");
  auto v1 = parse_target("http://localhost:8000/v1/");
  EXPECT_EQ(v1->path("/v1/completions"), "/v1/completions");
  auto prefixed = parse_target("http://h/proxy/v1");
  EXPECT_EQ(prefixed->port, "80");
  EXPECT_EQ(prefixed->path("/health"), "/proxy/health");
  EXPECT_FALSE(parse_target("http://host:99999").has_value());
  EXPECT_FALSE(parse_target("ftp://host").has_value());
  auto https = parse_target("https://host");
  ASSERT_FALSE(https.has_value());
  EXPECT_NE(https.error().message().find("https"), std::string::npos);
}

TEST(HttpTarget, BlockingRequestAndUnreachableHost) {
  auto server = std::move(ScriptedServer::start({})).value();
  auto target = parse_target(server->url());
  auto models = http_request(*target, {}, "GET", "/v1/models", "", 5.0);
  ASSERT_TRUE(models.has_value()) << models.error().message();
  EXPECT_EQ(models->status, 200);
  EXPECT_NE(models->body.find("scripted-model"), std::string::npos);
  const int port = server->port();
  server.reset();
  auto gone = parse_target(fmt::format("http://127.0.0.1:{}", port));
  auto failed = http_request(*gone, {}, "GET", "/health", "", 2.0);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message().find("/health"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::bench
