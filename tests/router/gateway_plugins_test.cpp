// llm-d's session, in-flight and label plugins through the gateway: response headers a client
// sends back, streams counted while they run, endpoints chosen by their labels.
#include <future>

#include "gateway_fixture.h"
#include "router/active_request_scorer.h"
#include "router/session_affinity_scorer.h"

namespace kvtier::router {
namespace {

using testing::completion;
using testing::http_call;
using testing::http_post;
using testing::HttpResult;
using testing::wait_until;
namespace http = boost::beast::http;

class GatewayPluginsTest : public testing::GatewayFixture {
 protected:
  GatewayOptions options_with(const std::string& plugins, const std::string& refs) {
    GatewayOptions o = default_options();
    auto config = parse_picker_config(
        "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n" + plugins +
            "schedulingProfiles:\n- name: default\n  plugins:\n" + refs,
        "test.yaml");
    EXPECT_TRUE(config) << config.error().message();
    if (config) o.picker_config = *config;
    return o;
  }

  HttpResult post_with(const std::string& body, const std::map<std::string, std::string>& h) {
    return http_call(port(), http::verb::post, "/v1/completions", body, h);
  }
};

TEST_F(GatewayPluginsTest, SessionTokenKeepsAConversationOnItsEndpoint) {
  start_endpoints(3);
  start_gateway(options_with("- type: session-affinity-scorer\n- type: queue-scorer\n",
                             "  - pluginRef: session-affinity-scorer\n    weight: 10\n"
                             "  - pluginRef: queue-scorer\n"));
  HttpResult first = http_post(port(), "/v1/completions", completion("turn 1"));
  ASSERT_EQ(first.status, 200) << first.body;
  const int home = endpoint_of(first);
  ASSERT_GE(home, 0);
  const std::string id = "127.0.0.1:" + std::to_string(endpoints_[home]->port());
  const std::string token = first.header("x-session-token");
  EXPECT_EQ(token, SessionAffinityScorer::token_for(id));
  EXPECT_EQ(first.header("set-cookie"),
            "llm-d-session=" + token + "; Path=/; HttpOnly; SameSite=Lax");
  for (int turn = 2; turn <= 8; ++turn) {
    HttpResult r = post_with(completion("turn " + std::to_string(turn)),
                             {{"x-session-token", token}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(endpoint_of(r), home) << "turn " << turn;
    EXPECT_EQ(r.header("x-session-token"), token);
  }
  // The cookie alone works too, and a client holding it is not sent it again.
  HttpResult by_cookie = post_with(completion("cookie"), {{"cookie", "llm-d-session=" + token}});
  EXPECT_EQ(endpoint_of(by_cookie), home);
  EXPECT_EQ(by_cookie.header("set-cookie"), "");
  EXPECT_EQ(endpoints_[home]->requests(), 9u);
}

TEST_F(GatewayPluginsTest, ActiveRequestsSendNewRequestsAwayFromRunningStreams) {
  start_endpoints(2);
  start_gateway(options_with("- type: active-request-scorer\n  parameters:\n    "
                             "requestTimeout: 1m\n",
                             "  - pluginRef: active-request-scorer\n"));
  auto* active =
      dynamic_cast<ActiveRequestScorer*>(gateway_->scheduler().scorers()[0].scorer.get());
  ASSERT_NE(active, nullptr);
  nlohmann::json slow = {{"prompt", "long answer"}, {"max_tokens", 8}, {"stream", true},
                         {"sim_chunks", 100},       {"sim_interval_us", 20000}};
  auto stream = std::async(std::launch::async, [&] {
    return http_post(port(), "/v1/completions", slow.dump());
  });
  ASSERT_TRUE(wait_until([&] { return active->active(0) + active->active(1) == 1; }));
  const size_t busy = active->active(0) == 1 ? 0 : 1;
  // While the stream runs, every other request goes to the idle endpoint.
  for (int i = 0; i < 5; ++i) {
    HttpResult r = http_post(port(), "/v1/completions", completion("quick " + std::to_string(i)));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(endpoint_of(r), int(1 - busy));
  }
  // The stream (2 s) was still running for all of them.
  EXPECT_EQ(active->active(busy), 1u);
  HttpResult streamed = stream.get();
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(endpoint_of(streamed), int(busy));
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos);
  // Finished responses are counted off.
  EXPECT_TRUE(wait_until([&] { return active->active(0) + active->active(1) == 0; }));
}

TEST_F(GatewayPluginsTest, LabelFiltersChooseEndpointsByRole) {
  start_endpoints(3);
  GatewayOptions o = options_with("- type: decode-filter\n- type: queue-scorer\n",
                                  "  - pluginRef: decode-filter\n  - pluginRef: queue-scorer\n");
  o.endpoints.clear();
  const char* roles[] = {"prefill", "decode", "prefill"};
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    auto address =
        EndpointAddress::parse(endpoints_[i]->url() + "?llm-d.ai/role=" + roles[i]);
    ASSERT_TRUE(address) << address.error().message();
    o.endpoints.push_back(*address);
  }
  start_gateway(o);
  for (int i = 0; i < 6; ++i) {
    HttpResult r = http_post(port(), "/v1/completions", completion(std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(endpoint_of(r), 1);
  }
  gateway_.reset();

  // A filter that keeps nothing is a 503 naming it, not a crash or a hang.
  GatewayOptions none = options_with(
      "- type: by-label\n  name: zone-x\n  parameters:\n    label: zone\n    validValues: [x]\n",
      "  - pluginRef: zone-x\n");
  none.endpoints = o.endpoints;
  start_gateway(none);
  HttpResult r = http_post(port(), "/v1/completions", completion("nowhere"));
  EXPECT_EQ(r.status, 503);
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["error"]["type"], "ServiceUnavailableError");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("filter 'zone-x' (by-label)"),
            std::string::npos)
      << r.body;
}

TEST_F(GatewayPluginsTest, TieredPrefixCacheGuideConfigKeepsConversationsHome) {
  start_endpoints(3);
  GatewayOptions o = default_options();
  auto config = load_picker_config(std::string(KVTIER_SOURCE_DIR) +
                                   "/tests/router/fixtures/llmd-tiered-prefix-cache-cpu.yaml");
  ASSERT_TRUE(config) << config.error().message();
  o.picker_config = *config;
  start_gateway(o);
  std::string history(2000, 'a');
  for (size_t i = 0; i < history.size(); ++i) history[i] = char('a' + (i * 7) % 26);
  HttpResult first = http_post(port(), "/v1/completions", completion(history));
  ASSERT_EQ(first.status, 200);
  const int home = endpoint_of(first);
  ASSERT_GE(home, 0);
  // A fuller KV cache at home (2 x 0.5 lost) does not outweigh two prefix scorers matching
  // most of the prompt (about 2 x 0.9).
  endpoints_[home]->set_load(0, 0, 0.5);
  ASSERT_TRUE(wait_until([&] {
    for (const auto& v : gateway_->endpoints().usable()) {
      if (v.index == size_t(home) && v.metrics.kv_usage == 0.5) return true;
    }
    return false;
  }));
  for (int turn = 2; turn <= 5; ++turn) {
    history += " turn " + std::to_string(turn) + std::string(40, 'x');
    HttpResult r = http_post(port(), "/v1/completions", completion(history));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(endpoint_of(r), home) << "turn " << turn;
  }
  // A new conversation avoids the fuller endpoint.
  HttpResult other = http_post(port(), "/v1/completions", completion(std::string(2000, 'z')));
  EXPECT_NE(endpoint_of(other), home);
}

}  // namespace
}  // namespace kvtier::router
