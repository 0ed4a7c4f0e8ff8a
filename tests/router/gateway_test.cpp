#include <sys/socket.h>

#include <map>
#include <set>

#include "gateway_fixture.h"

namespace kvtier::router {
namespace {

using testing::completion;
using testing::http_call;
using testing::http_get;
using testing::http_post;
using testing::HttpResult;
using testing::wait_until;
namespace http = boost::beast::http;

class GatewayTest : public testing::GatewayFixture {};

std::string long_text(const std::string& seed, size_t n) {
  std::string out;
  while (out.size() < n) out += seed + " " + std::to_string(out.size()) + " ";
  return out.substr(0, n);
}

TEST_F(GatewayTest, ProxiesAndNamesTheDestinationEndpoint) {
  start_endpoints(2);
  start_gateway();
  HttpResult r = http_post(port(), "/v1/completions", completion("hello"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  const int e = endpoint_of(r);
  ASSERT_GE(e, 0) << r.header("x-gateway-destination-endpoint");
  // The endpoint that answered is the one the header names.
  EXPECT_EQ(r.header("x-sim-endpoint"), endpoints_[e]->name());
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["choices"][0]["text"], " " + endpoints_[e]->name());
  EXPECT_EQ(endpoints_[e]->requests(), 1u);
  EXPECT_EQ(endpoints_[e]->request_bodies()[0], completion("hello"));
  EXPECT_EQ(endpoints_[1 - e]->requests(), 0u);
}

TEST_F(GatewayTest, ReusesConnectionsToEndpoints) {
  start_endpoints(1);
  start_gateway();
  const uint64_t before = endpoints_[0]->connections();  // the scraper's
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(http_post(port(), "/v1/completions", completion(std::to_string(i), i % 2)).status,
              200);
  }
  // Ten requests over one reused proxy connection; the scraper may open one of its own meanwhile
  // (its health check), but without reuse there would be ten.
  EXPECT_LE(endpoints_[0]->connections() - before, 2u);
  EXPECT_EQ(endpoints_[0]->requests(), 10u);
}

TEST_F(GatewayTest, StreamIsByteIdenticalToTheEndpoints) {
  start_endpoints(1);
  start_gateway();
  const std::string body = completion("stream me", true, 77);
  HttpResult via_router = http_post(port(), "/v1/completions", body);
  HttpResult direct = http_post(endpoints_[0]->port(), "/v1/completions", body);
  ASSERT_EQ(via_router.status, 200) << via_router.error;
  ASSERT_EQ(direct.status, 200);
  EXPECT_EQ(via_router.body, direct.body);
  EXPECT_EQ(via_router.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(via_router.header("transfer-encoding"), "chunked");
  EXPECT_NE(via_router.body.find("data: [DONE]\n\n"), std::string::npos);
  // Chat completions and slow streams pass through the same way.
  nlohmann::json chat = {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                         {"stream", true},
                         {"sim_chunks", 5},
                         {"sim_interval_us", 2000},
                         {"sim_id", 3}};
  HttpResult chat_router = http_post(port(), "/v1/chat/completions", chat.dump());
  HttpResult chat_direct = http_post(endpoints_[0]->port(), "/v1/chat/completions", chat.dump());
  ASSERT_EQ(chat_router.status, 200);
  EXPECT_EQ(chat_router.body, chat_direct.body);
}

TEST_F(GatewayTest, SharedPrefixFollowsTheFirstRequest) {
  start_endpoints(3);
  start_gateway();
  const std::string prefix = long_text("system prompt shared by the conversation", 2000);
  HttpResult first = http_post(port(), "/v1/completions", completion(prefix + " question 0"));
  ASSERT_EQ(first.status, 200) << first.error;
  const int home = endpoint_of(first);
  ASSERT_GE(home, 0);
  for (int i = 1; i <= 12; ++i) {
    HttpResult r =
        http_post(port(), "/v1/completions", completion(prefix + " question " + std::to_string(i)));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(endpoint_of(r), home) << "request " << i;
  }
  // A different long prompt is free to go anywhere; sent often enough it lands elsewhere too.
  std::set<int> others;
  for (int i = 0; i < 12; ++i) {
    HttpResult r = http_post(port(), "/v1/completions",
                             completion(long_text("unrelated " + std::to_string(i), 2000)));
    others.insert(endpoint_of(r));
  }
  EXPECT_GT(others.size(), 1u);
}

TEST_F(GatewayTest, UniquePromptsGoToTheLeastLoadedAndSpreadWhenEqual) {
  start_endpoints(3);
  endpoints_[0]->set_load(10, 4, 0.5);
  endpoints_[1]->set_load(0, 1, 0.1);
  endpoints_[2]->set_load(5, 2, 0.3);
  start_gateway();
  wait_for_load(0, 10);
  wait_for_load(2, 5);
  for (int i = 0; i < 6; ++i) {
    HttpResult r = http_post(port(), "/v1/completions", completion("unique " + std::to_string(i)));
    EXPECT_EQ(endpoint_of(r), 1);
  }
  for (auto& ep : endpoints_) ep->set_load(2, 2, 0.2);
  wait_for_load(0, 2);
  wait_for_load(1, 2);
  wait_for_load(2, 2);
  std::map<int, int> counts;
  for (int i = 0; i < 45; ++i) {
    HttpResult r = http_post(port(), "/v1/completions", completion("other " + std::to_string(i)));
    counts[endpoint_of(r)]++;
  }
  // Equal load, no shared prefix: ties broken at random reach every endpoint.
  for (int e = 0; e < 3; ++e) EXPECT_GE(counts[e], 5) << "endpoint " << e;
}

TEST_F(GatewayTest, KilledEndpointDropsOutAndComesBack) {
  start_endpoints(2);
  start_gateway();
  const std::string prompt = long_text("conversation about endpoints", 600);
  HttpResult first = http_post(port(), "/v1/completions", completion(prompt));
  const int home = endpoint_of(first);
  ASSERT_GE(home, 0);
  const uint16_t home_port = endpoints_[home]->port();
  endpoints_[home]->stop();
  // The router may not have noticed yet: the refused connection is retried on the other one.
  for (int i = 0; i < 5; ++i) {
    HttpResult r = http_post(port(), "/v1/completions", completion(prompt));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(endpoint_of(r), 1 - home);
  }
  EXPECT_TRUE(wait_until([&] { return !gateway_->endpoints().is_usable(size_t(home)); }));
  HttpResult metrics = http_get(port(), "/metrics");
  const std::string down =
      "kvtier_router_endpoint_up{endpoint=\"127.0.0.1:" + std::to_string(home_port) + "\"} 0";
  EXPECT_NE(metrics.body.find(down), std::string::npos) << metrics.body;

  // Restarted on the same port, it is used again; its old prefix is forgotten.
  auto again = SimEndpoint::start("ep-restarted", home_port);
  ASSERT_TRUE(again) << again.error().message();
  endpoints_[home] = std::move(*again);
  ASSERT_TRUE(wait_until([&] { return gateway_->endpoints().is_usable(size_t(home)); }));
  std::set<int> used;
  for (int i = 0; i < 20; ++i) {
    used.insert(endpoint_of(
        http_post(port(), "/v1/completions", completion("fresh " + std::to_string(i)))));
  }
  EXPECT_EQ(used.size(), 2u);
}

TEST_F(GatewayTest, NoUsableEndpointIsAn503InOpenAiShape) {
  start_endpoints(2);
  start_gateway();
  for (auto& ep : endpoints_) ep->set_health_status(503);
  ASSERT_TRUE(wait_until([&] { return gateway_->endpoints().usable().empty(); }));
  HttpResult r = http_post(port(), "/v1/completions", completion("anyone?"));
  EXPECT_EQ(r.status, 503);
  auto body = nlohmann::json::parse(r.body);
  ASSERT_TRUE(body.contains("error"));
  EXPECT_EQ(body["error"]["type"], "ServiceUnavailableError");
  EXPECT_EQ(body["error"]["code"], 503);
  EXPECT_TRUE(body["error"]["param"].is_null());
  EXPECT_NE(body["error"]["message"].get<std::string>().find("/health returned 503"),
            std::string::npos);
  EXPECT_EQ(http_get(port(), "/health").status, 503);
  // Recovery.
  for (auto& ep : endpoints_) ep->set_health_status(200);
  ASSERT_TRUE(wait_until([&] { return gateway_->endpoints().usable().size() == 2; }));
  EXPECT_EQ(http_get(port(), "/health").status, 200);
  EXPECT_EQ(http_post(port(), "/v1/completions", completion("back")).status, 200);
}

TEST_F(GatewayTest, StaleMetricsExcludeAnEndpoint) {
  start_endpoints(2);
  start_gateway();
  endpoints_[0]->set_metrics_status(500);
  ASSERT_TRUE(wait_until([&] { return !gateway_->endpoints().is_usable(0); }));
  EXPECT_TRUE(gateway_->endpoints().is_usable(1));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(endpoint_of(http_post(port(), "/v1/completions", completion(std::to_string(i)))), 1);
  }
  endpoints_[0]->set_metrics_status(200);
  EXPECT_TRUE(wait_until([&] { return gateway_->endpoints().is_usable(0); }));
}

TEST_F(GatewayTest, RouterAnswersHealthMetricsAndModels) {
  start_endpoints(1);
  auto options = default_options();
  options.served_model_names = {"qwen3-tiny"};
  start_gateway(options);
  EXPECT_EQ(http_get(port(), "/health").status, 200);
  HttpResult models = http_get(port(), "/v1/models");
  ASSERT_EQ(models.status, 200);
  auto m = nlohmann::json::parse(models.body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "qwen3-tiny");
  EXPECT_EQ(endpoints_[0]->requests(), 0u);
  EXPECT_EQ(http_call(port(), http::verb::post, "/health").status, 405);

  ASSERT_EQ(http_post(port(), "/v1/completions", completion("count me")).status, 200);
  HttpResult metrics = http_get(port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string id = "127.0.0.1:" + std::to_string(endpoints_[0]->port());
  for (const std::string& line :
       {"kvtier_router_requests_total{endpoint=\"" + id + "\",code=\"200\"} 1",
        "kvtier_router_endpoint_up{endpoint=\"" + id + "\"} 1",
        std::string("kvtier_router_scheduling_seconds_count 1"),
        "kvtier_router_prefix_tracked_blocks{scorer=\"prefix-cache-scorer\",endpoint=\"" + id +
            "\"} 0"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << "\n" << metrics.body;
  }
}

TEST_F(GatewayTest, ModelsAndUnknownPathsAreProxied) {
  start_endpoints(1);
  start_gateway();
  HttpResult models = http_get(port(), "/v1/models");
  EXPECT_EQ(models.status, 200);
  EXPECT_EQ(nlohmann::json::parse(models.body)["data"][0]["id"], "sim-model");
  HttpResult missing = http_get(port(), "/v2/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(endpoint_of(missing), 0);
  // A body the router cannot read is still routed; the endpoint judges it.
  HttpResult bad = http_post(port(), "/v1/completions", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(endpoint_of(bad), 0);
}

// Raw bytes in, raw bytes out (until the router closes). Half-closing would read as a client
// that hung up, which aborts a proxied request.
std::string raw_exchange(uint16_t port, const std::string& request, bool half_close = false) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(request));
  if (half_close) socket.shutdown(asio::ip::tcp::socket::shutdown_send);
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

TEST_F(GatewayTest, BadRequestsGetClearErrors) {
  start_endpoints(1);
  auto options = default_options();
  options.max_body_bytes = 1000;
  start_gateway(options);
  std::string garbage = raw_exchange(port(), "BLAH\x01\x02 / HTTP/9\r\n\r\n");
  EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400")) << garbage;
  EXPECT_NE(garbage.find("malformed HTTP request"), std::string::npos);
  const std::string big(5000, 'x');
  std::string too_big = raw_exchange(
      port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + big);
  EXPECT_TRUE(too_big.starts_with("HTTP/1.1 413")) << too_big;
  EXPECT_EQ(endpoints_[0]->requests(), 0u);
  // The router still serves after all that.
  EXPECT_EQ(http_post(port(), "/v1/completions", completion("fine")).status, 200);
}

TEST_F(GatewayTest, KeepAliveAndExpectContinue) {
  start_endpoints(1);
  start_gateway();
  const std::string body = completion("two in a row");
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string expect_request =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::string out = raw_exchange(port(), request + request + expect_request);
  size_t responses = 0;
  for (size_t at = out.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = out.find("HTTP/1.1 200 OK", at + 1)) {
    ++responses;
  }
  EXPECT_EQ(responses, 3u) << out;
  EXPECT_NE(out.find("HTTP/1.1 100 Continue"), std::string::npos);
  EXPECT_EQ(endpoints_[0]->requests(), 3u);
}

TEST_F(GatewayTest, StreamsWithBackpressureAndPropagatesDisconnects) {
  start_endpoints(1);
  start_gateway();
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.open(asio::ip::tcp::v4());
  socket.set_option(asio::socket_base::receive_buffer_size(64 * 1024));
  socket.connect({asio::ip::make_address("127.0.0.1"), port()});
  nlohmann::json body = {{"prompt", "a lot"}, {"stream", true}, {"sim_bytes", 256ull << 20}};
  const std::string payload = body.dump();
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(payload.size()) + "\r\n\r\n" + payload;
  asio::write(socket, asio::buffer(request));
  // Read a little, then stop reading: the endpoint must be held back, not drained by the router.
  std::vector<char> buf(64 * 1024);
  size_t got = 0;
  while (got < 1 << 20) got += socket.read_some(asio::buffer(buf));
  ASSERT_TRUE(wait_until([&] { return endpoints_[0]->stream_bytes_sent() > (2u << 20); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t sent = endpoints_[0]->stream_bytes_sent();
  EXPECT_LT(sent, 128ull << 20) << "the router read far ahead of its client";
  // Reading resumes the flow.
  while (got < (8u << 20)) got += socket.read_some(asio::buffer(buf));
  EXPECT_GT(endpoints_[0]->stream_bytes_sent(), sent);
  // Hanging up stops the endpoint's stream.
  socket.close();
  EXPECT_TRUE(wait_until([&] { return endpoints_[0]->aborted_streams() == 1; }));
  EXPECT_LT(endpoints_[0]->stream_bytes_sent(), 200ull << 20);
}

TEST_F(GatewayTest, DisconnectBeforeTheFirstTokenClosesTheUpstream) {
  start_endpoints(1);
  start_gateway();
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port()});
  // A slow stream: 100 events 50 ms apart; the client leaves after the first.
  nlohmann::json body = {{"prompt", "slow"}, {"stream", true}, {"sim_chunks", 100},
                         {"sim_interval_us", 50000}};
  const std::string payload = body.dump();
  asio::write(socket, asio::buffer("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                   std::to_string(payload.size()) + "\r\n\r\n" + payload));
  ASSERT_TRUE(wait_until([&] { return endpoints_[0]->in_flight() == 1; }));
  socket.close();
  EXPECT_TRUE(wait_until([&] { return endpoints_[0]->aborted_streams() == 1; },
                         std::chrono::milliseconds(3000)));
  EXPECT_TRUE(wait_until([&] { return gateway_->endpoints().status()[0].in_flight == 0; }));
}

TEST_F(GatewayTest, StopDrainsInFlightStreams) {
  start_endpoints(1);
  start_gateway();
  nlohmann::json body = {{"prompt", "drain"}, {"stream", true}, {"sim_chunks", 20},
                         {"sim_interval_us", 10000}};
  HttpResult result;
  std::thread client([&] { result = http_post(port(), "/v1/completions", body.dump()); });
  ASSERT_TRUE(wait_until([&] { return endpoints_[0]->in_flight() == 1; }));
  gateway_->stop();
  client.join();
  EXPECT_EQ(result.status, 200) << result.error;
  EXPECT_NE(result.body.find("data: [DONE]"), std::string::npos);
}

TEST_F(GatewayTest, ConfigErrorsStopCreation) {
  start_endpoints(1);
  auto options = default_options();
  auto config = parse_picker_config(R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefix-cache-scorer
  parameters:
    maxPrefixBlocksToMatch: 0
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: prefix-cache-scorer
)");
  ASSERT_TRUE(config);
  options.picker_config = *config;
  auto gateway = Gateway::create(options);
  ASSERT_FALSE(gateway);
  EXPECT_NE(gateway.error().message().find("maxPrefixBlocksToMatch"), std::string::npos);
  options = default_options();
  options.endpoints.push_back(options.endpoints[0]);
  EXPECT_FALSE(Gateway::create(options));
  options = default_options();
  options.endpoints.clear();
  EXPECT_FALSE(Gateway::create(options));
}

}  // namespace
}  // namespace kvtier::router
