// The router's answers when an endpoint fails during a request (scripted_upstream.h): closed
// before its response (502 in the OpenAI error shape), inside a Content-Length body (the client
// sees a cut body, never a complete one), inside an SSE event (an error event of its own after
// what was relayed); and the cap on endpoints tried when connections are refused.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gateway_fixture.h"
#include "scripted_upstream.h"

namespace kvtier::router::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

// One request as a client sees it, whatever happens to the connection.
struct Exchange {
  int status = 0;
  std::string content_length, connection;
  std::string body;   // decoded (de-chunked), as far as it came
  std::string error;  // empty when the whole response was read
};

Exchange post(uint16_t port, const std::string& body) {
  Exchange ex;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(30s);
  beast::error_code ec;
  stream.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    ex.error = ec.message();
    return ex;
  }
  http::request<http::string_body> req{http::verb::post, "/v1/completions", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) http::read(stream, buffer, parser, ec);
  if (parser.is_header_done()) {
    const auto& res = parser.get();
    ex.status = int(res.result_int());
    ex.content_length = std::string(res[http::field::content_length]);
    ex.connection = std::string(res[http::field::connection]);
    ex.body = res.body();
  }
  if (ec) ex.error = ec.message();
  return ex;
}

// `name{labels} value` lines of the router's /metrics whose name and labels start so.
double metric(const std::string& text, const std::string& prefix) {
  double total = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

class UpstreamFailuresTest : public ::testing::Test {
 protected:
  void TearDown() override {
    gateway_.reset();
    upstreams_.clear();
  }

  void start(std::vector<ScriptedUpstream::Script> scripts, int max_attempts = 3) {
    for (auto& s : scripts) upstreams_.push_back(std::make_unique<ScriptedUpstream>(s));
    GatewayOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    for (const auto& u : upstreams_) o.endpoints.push_back(*EndpointAddress::parse(u->url()));
    o.prompt_reader = std::make_shared<BytePromptReader>();
    // One health check and scrape at start, then none for the test's length: an endpoint stays
    // usable whatever happens to it, so only the proxy path reacts to its failures.
    o.scrape_interval = std::chrono::hours(1);
    o.health_interval = std::chrono::hours(1);
    o.stale_after = std::chrono::hours(1);
    o.shutdown_timeout = 5000ms;
    o.io_threads = 2;
    o.seed = 42;
    o.max_attempts = max_attempts;
    auto gateway = Gateway::create(std::move(o));
    ASSERT_TRUE(gateway) << gateway.error().message();
    gateway_ = std::move(*gateway);
    gateway_->start();
    ASSERT_TRUE(wait_until([&] { return gateway_->endpoints().usable().size() == scripts.size(); }))
        << "endpoints never became usable";
  }

  std::string endpoint_id(size_t i) const {
    return "127.0.0.1:" + std::to_string(upstreams_[i]->port());
  }
  std::string router_metrics() {
    return gateway_->metrics().render(gateway_->endpoints(), gateway_->scheduler());
  }
  double requests_with(size_t i, int code) {
    return metric(router_metrics(), "kvtier_router_requests_total{endpoint=\"" + endpoint_id(i) +
                                        "\",code=\"" + std::to_string(code) + "\"}");
  }

  std::vector<std::unique_ptr<ScriptedUpstream>> upstreams_;
  std::unique_ptr<Gateway> gateway_;
};

// The n-th POST fails as `first`, every later one is answered.
ScriptedUpstream::Script first_fails(UpstreamAction first) {
  return [first](size_t n) { return n == 0 ? first : UpstreamAction::kRespond; };
}

TEST_F(UpstreamFailuresTest, ClosedBeforeTheResponseIsA502InOpenAiShape) {
  start({first_fails(UpstreamAction::kCloseBeforeResponse)});
  const Exchange ex = post(gateway_->port(), completion("hello"));
  EXPECT_EQ(ex.status, 502) << ex.error;
  EXPECT_EQ(ex.connection, "close");
  const auto body = nlohmann::json::parse(ex.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << ex.body;
  EXPECT_EQ(body["error"]["code"], 502);
  EXPECT_EQ(body["error"]["type"], "BadGatewayError");
  const std::string message = body["error"]["message"];
  EXPECT_NE(
      message.find("endpoint " + endpoint_id(0) + " closed the connection without a response"),
      std::string::npos)
      << message;
  EXPECT_EQ(upstreams_[0]->posts(), 1u);  // sent once: a request that reached it is not retried
  EXPECT_EQ(requests_with(0, 502), 1);
  // The endpoint still serves the next request.
  const Exchange next = post(gateway_->port(), completion("hello again"));
  EXPECT_EQ(next.status, 200) << next.error;
  // Counted once the response is written: the client may have read it a moment earlier.
  EXPECT_TRUE(wait_until([&] { return requests_with(0, 200) == 1; }));
}

TEST_F(UpstreamFailuresTest, ABodyCutShortReachesTheClientCutShort) {
  start({first_fails(UpstreamAction::kCloseMidBody)});
  const Exchange ex = post(gateway_->port(), completion("hello"));
  // The 200 and its length were passed on before the cut; the client must see the body end
  // early (a closed connection), never a complete response.
  EXPECT_EQ(ex.status, 200);
  EXPECT_EQ(ex.content_length, "100");
  EXPECT_EQ(ex.body, R"({"id":"cm)");
  EXPECT_EQ(ex.error, beast::error_code(http::error::partial_message).message());
  EXPECT_EQ(requests_with(0, 502), 1);
  EXPECT_EQ(requests_with(0, 200), 0);
  const Exchange next = post(gateway_->port(), completion("hello again"));
  EXPECT_EQ(next.status, 200) << next.error;
}

TEST_F(UpstreamFailuresTest, AStreamCutInsideAnEventEndsWithAnErrorEventOfItsOwn) {
  start({first_fails(UpstreamAction::kCloseMidEvent)});
  const Exchange ex = post(gateway_->port(), completion("hello", /*stream=*/true));
  EXPECT_EQ(ex.status, 200);
  EXPECT_TRUE(ex.error.empty()) << ex.error;  // the chunked body is terminated
  // What was relayed, then a blank line closing the cut event, then the error event.
  const std::string relayed = "data: {\"id\":\"a\"}\n\ndata: {\"tru";
  ASSERT_EQ(ex.body.rfind(relayed + "\n\ndata: {\"error\":", 0), 0u) << ex.body;
  ASSERT_TRUE(ex.body.ends_with("\n\n")) << ex.body;
  const std::string event = ex.body.substr(relayed.size() + 2 + 6);
  const auto error = nlohmann::json::parse(event.substr(0, event.size() - 2), nullptr, false);
  ASSERT_TRUE(error.is_object()) << event;
  EXPECT_EQ(error["error"]["code"], 502);
  EXPECT_EQ(error["error"]["type"], "BadGatewayError");
  EXPECT_NE(
      error["error"]["message"].get<std::string>().find(endpoint_id(0) + " cut its response short"),
      std::string::npos)
      << event;
  EXPECT_EQ(ex.body.find("[DONE]"), std::string::npos);
  EXPECT_EQ(requests_with(0, 502), 1);
}

TEST_F(UpstreamFailuresTest, RefusedConnectionsAreRetriedUpToTheCap) {
  const auto answer = [](size_t) { return UpstreamAction::kRespond; };
  start({answer, answer, answer}, /*max_attempts=*/2);
  for (auto& u : upstreams_) u->stop_listening();  // still usable as far as the router knows

  const Exchange ex = post(gateway_->port(), completion("hello"));
  EXPECT_EQ(ex.status, 503) << ex.error;
  const auto body = nlohmann::json::parse(ex.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << ex.body;
  EXPECT_EQ(body["error"]["code"], 503);
  const std::string message = body["error"]["message"];
  const std::string prefix = "no endpoint accepted the connection: ";
  ASSERT_EQ(message.rfind(prefix, 0), 0u) << message;
  // Exactly two endpoints tried, each named with its error.
  const std::regex tried(R"(127\.0\.0\.1:\d+: Connection refused)");
  const auto n = std::distance(std::sregex_iterator(message.begin(), message.end(), tried),
                               std::sregex_iterator());
  EXPECT_EQ(n, 2) << message;
  const std::string text = router_metrics();
  EXPECT_EQ(metric(text, "kvtier_router_connect_failures_total{"), 2) << text;
  EXPECT_EQ(metric(text, "kvtier_router_no_endpoint_total "), 1) << text;
  // The two refusing endpoints are out until a health check passes; the third was not tried.
  EXPECT_EQ(gateway_->endpoints().usable().size(), 1u);
  for (const auto& u : upstreams_) EXPECT_EQ(u->posts(), 0u);
}

}  // namespace
}  // namespace kvtier::router::testing
