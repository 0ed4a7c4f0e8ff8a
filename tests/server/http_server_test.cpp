// The HTTP transport with the real API over the fake engine: keep-alive, SSE framing, limits,
// malformed and slow clients, timeouts, and disconnects that abort their request.
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/http_test_client.h"
#include "server/in_process_server.h"

namespace kvtier::server::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

engine::EngineInfo long_context() {
  engine::EngineInfo info = fake_engine_info();
  info.max_model_len = 1 << 20;
  return info;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  InProcessServer s;
  HttpTestClient c(s.port());
  ASSERT_TRUE(c.connected());
  auto health = c.request("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_TRUE(health.body.empty());
  auto version = c.request("GET", "/version");
  EXPECT_EQ(json::parse(version.body)["version"], "0.1.0");
  auto models = c.request("GET", "/v1/models");
  ASSERT_EQ(models.status, 200);
  json list = json::parse(models.body);
  EXPECT_EQ(list["object"], "list");
  EXPECT_EQ(list["data"][0]["id"], "fake-model");
  EXPECT_EQ(list["data"][0]["object"], "model");
  EXPECT_EQ(list["data"][0]["max_model_len"], 256);
  auto completion = c.request("POST", "/v1/completions", R"({"prompt": "hi", "max_tokens": 3})");
  ASSERT_EQ(completion.status, 200) << completion.body << completion.error;
  EXPECT_EQ(json::parse(completion.body)["choices"][0]["text"], "abc");
  EXPECT_EQ(completion.headers["content-type"], "application/json");
  EXPECT_EQ(s.server().connections(), 1);
}

TEST(HttpServer, StreamsServerSentEventsChunked) {
  InProcessServer s;
  HttpTestClient c(s.port());
  auto r = c.request("POST", "/v1/chat/completions",
                     R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4,
                         "stream": true})");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers["content-type"], "text/event-stream; charset=utf-8");
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
  EXPECT_TRUE(r.body.ends_with("data: [DONE]\n\n")) << r.body;
  EXPECT_NE(r.body.find(R"("delta":{"role":"assistant","content":""})"), std::string::npos);
  // The connection stays usable after a stream.
  EXPECT_EQ(c.request("GET", "/health").status, 200);
}

TEST(HttpServer, BodyOverTheLimitIs413) {
  HttpServerConfig config;
  config.max_body_bytes = 1024;
  InProcessServer s(config);
  {
    HttpTestClient c(s.port());
    std::string body = R"({"prompt": ")" + std::string(4000, 'x') + R"("})";
    auto r = c.request("POST", "/v1/completions", body);
    EXPECT_EQ(r.status, 413) << r.error;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], 413);
  }
  {
    // Refused from the declared length alone, before the body is sent.
    HttpTestClient c(s.port());
    c.write_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 413) << r.error;
  }
  EXPECT_TRUE(s.engine().submitted().empty());
}

TEST(HttpServer, GarbageGets400AndTheConnectionCloses) {
  InProcessServer s;
  HttpTestClient c(s.port());
  c.write_raw("HELLO THERE\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 400) << r.error;
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("malformed"),
            std::string::npos);
  EXPECT_TRUE(c.closed_by_server());

  HttpTestClient binary(s.port());
  binary.write_raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  EXPECT_EQ(binary.read_response().status, 400);
  // The server is still fine.
  HttpTestClient ok(s.port());
  EXPECT_EQ(ok.request("GET", "/health").status, 200);
}

TEST(HttpServer, SlowClientIsServed) {
  InProcessServer s;
  HttpTestClient c(s.port());
  std::string body = R"({"prompt": "slow", "max_tokens": 2})";
  std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        "application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  for (char ch : request) {
    c.write_raw(std::string(1, ch));
    std::this_thread::sleep_for(1ms);
  }
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["text"], "ab");
}

TEST(HttpServer, StalledAndIdleConnectionsAreClosed) {
  HttpServerConfig config;
  config.request_timeout = 300ms;
  config.keep_alive_timeout = 200ms;
  InProcessServer s(config);
  // A request cut short is answered 408 (naming the limit) before the close.
  HttpTestClient stalled(s.port(), 3s);
  stalled.write_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Le");
  const std::string header_reply = stalled.read_until("}");
  EXPECT_EQ(header_reply.rfind("HTTP/1.1 408", 0), 0u) << header_reply;
  EXPECT_NE(header_reply.find("RequestTimeoutError"), std::string::npos) << header_reply;
  EXPECT_NE(header_reply.find("within 300 ms"), std::string::npos) << header_reply;
  EXPECT_TRUE(stalled.closed_by_server());

  // So is a body that stops coming (a slow-loris body).
  HttpTestClient slow_body(s.port(), 3s);
  slow_body.write_raw(
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\":");
  const std::string body_reply = slow_body.read_until("}");
  EXPECT_EQ(body_reply.rfind("HTTP/1.1 408", 0), 0u) << body_reply;
  EXPECT_TRUE(slow_body.closed_by_server());

  // A kept-alive connection idle past keep_alive_timeout just closes, without a reply.

  HttpTestClient idle(s.port(), 3s);
  EXPECT_EQ(idle.request("GET", "/health").status, 200);
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(eventually([&] { return s.server().connections() == 0; }));
}

TEST(HttpServer, ClientThatDisconnectsMidStreamAbortsItsRequest) {
  InProcessServer s({}, 10ms, long_context());
  HttpTestClient c(s.port());
  c.send_request("POST", "/v1/completions",
                 R"({"prompt": ")" + std::string(100, 'p') +
                     R"(", "max_tokens": 100000, "stream": true})");
  std::string seen = c.read_until("data: ");
  ASSERT_NE(seen.find("data: "), std::string::npos);
  ASSERT_EQ(s.engine().active(), 1u);
  c.close();
  // The request is aborted at once (not at the end of max_tokens) and its blocks are free.
  ASSERT_TRUE(eventually([&] { return s.engine().active() == 0; }));
  ASSERT_EQ(s.engine().aborted().size(), 1u);
  EXPECT_EQ(s.engine().aborted()[0], s.engine().submitted()[0].request_id);
  EXPECT_TRUE(eventually([&] { return s.api().in_flight() == 0; }));
  HttpTestClient m(s.port());
  std::string metrics = m.request("GET", "/metrics").body;
  EXPECT_NE(metrics.find("vllm:num_requests_running{model_name=\"fake-model\",engine=\"0\"} 0.0"),
            std::string::npos);
  EXPECT_NE(metrics.find("vllm:kv_cache_usage_perc{model_name=\"fake-model\",engine=\"0\"} 0.0"),
            std::string::npos);
}

TEST(HttpServer, ClientThatDisconnectsDuringANonStreamedRequestAbortsIt) {
  InProcessServer s({}, 10ms, long_context());
  HttpTestClient c(s.port());
  c.send_request("POST", "/v1/completions", R"({"prompt": "p", "max_tokens": 100000})");
  ASSERT_TRUE(eventually([&] { return s.engine().active() == 1; }));
  c.close();
  ASSERT_TRUE(eventually([&] { return s.engine().active() == 0; }));
  EXPECT_EQ(s.engine().aborted().size(), 1u);
}

TEST(HttpServer, ClientThatStopsReadingIsDroppedOnceItsBacklogIsFull) {
  HttpServerConfig config;
  config.max_stream_backlog_bytes = 64 << 10;
  InProcessServer s(config, 0us, long_context());
  HttpTestClient c(s.port());
  c.send_request("POST", "/v1/completions",
                 R"({"prompt": "p", "max_tokens": 1000000, "stream": true})");
  // The client never reads: socket buffers fill, then the server's bounded backlog, then the
  // server gives up on the client and aborts its request.
  ASSERT_TRUE(eventually([&] { return s.engine().aborted().size() == 1; }, 20s));
  EXPECT_TRUE(eventually([&] { return s.engine().active() == 0; }));
  EXPECT_TRUE(eventually([&] { return s.api().in_flight() == 0; }));
}

TEST(HttpServer, ExpectContinueIsAnswered) {
  InProcessServer s;
  HttpTestClient c(s.port());
  std::string body = R"({"prompt": "x", "max_tokens": 1})";
  c.write_raw("POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  std::string interim = c.read_until("\r\n\r\n");
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
  c.write_raw(body);
  EXPECT_EQ(c.read_response().status, 200);
}

TEST(HttpServer, Http10StreamEndsByClosing) {
  InProcessServer s;
  HttpTestClient c(s.port());
  c.send_request("POST", "/v1/completions", R"({"prompt": "x", "max_tokens": 2, "stream": true})",
                 {}, 10);
  std::string all;
  for (std::string more; !(more = c.read_some()).empty();) all += more;
  EXPECT_EQ(all.rfind("HTTP/1.0 200 OK", 0), 0u) << all;
  EXPECT_EQ(all.find("chunked"), std::string::npos);
  EXPECT_TRUE(all.ends_with("data: [DONE]\n\n"));
}

TEST(HttpServer, TooManyConnectionsGet503) {
  HttpServerConfig config;
  config.max_connections = 2;
  InProcessServer s(config);
  HttpTestClient a(s.port()), b(s.port());
  ASSERT_EQ(a.request("GET", "/health").status, 200);
  ASSERT_EQ(b.request("GET", "/health").status, 200);
  HttpTestClient c(s.port());
  auto r = c.read_response();
  EXPECT_EQ(r.status, 503) << r.error;
  c.close();
  a.close();
  ASSERT_TRUE(eventually([&] { return s.server().connections() == 1; }));
  HttpTestClient d(s.port());
  EXPECT_EQ(d.request("GET", "/health").status, 200);
}

TEST(HttpServer, ShutdownLetsARunningStreamFinish) {
  auto s = std::make_unique<InProcessServer>(HttpServerConfig{}, 5ms);
  HttpTestClient c(s->port());
  c.send_request("POST", "/v1/completions", R"({"prompt": "x", "max_tokens": 40, "stream": true})");
  ASSERT_NE(c.read_until("data: ").find("data: "), std::string::npos);
  s->api().begin_drain();
  std::thread stopper([&] { s->server().shutdown(10s); });
  auto rest = c.read_until("[DONE]");
  c.close();
  stopper.join();
  EXPECT_NE(rest.find("data: [DONE]"), std::string::npos);
  EXPECT_NE(rest.find("\"finish_reason\":\"length\""), std::string::npos);
  HttpTestClient late(s->port(), 1s);
  EXPECT_FALSE(late.connected() && late.request("GET", "/health").status == 200);
}

}  // namespace
}  // namespace kvtier::server::testing
