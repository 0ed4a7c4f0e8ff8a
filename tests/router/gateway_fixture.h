#pragma once
// Sim endpoints and a gateway in front of them, for the router's in-process tests.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "router/endpoint_pool.h"
#include "router/gateway.h"
#include "router/router_metrics.h"
#include "router/scheduler.h"
#include "router/sim_endpoint.h"

namespace kvtier::router::testing {

// Stands in for the model tokenizer: token-id prompts as they are, text one token per byte, chat
// messages as "role:content" lines. Shared prefixes stay shared, which is what routing needs.
class BytePromptReader : public PromptReader {
 public:
  Expected<SchedulingRequest> read(ApiKind kind, const nlohmann::json& body) const override {
    std::string text;
    if (kind == ApiKind::kCompletions) {
      const auto& prompt = body.at("prompt");
      if (prompt.is_array()) return SchedulingRequest(prompt.get<std::vector<int32_t>>(), "");
      if (!prompt.is_string()) return invalid_argument("prompt must be a string");
      text = prompt.get<std::string>();
    } else {
      for (const auto& m : body.at("messages")) {
        text += m.value("role", "") + ":" + m.value("content", "") + "\n";
      }
    }
    std::vector<int32_t> tokens(text.begin(), text.end());
    return SchedulingRequest(std::move(tokens), body.value("cache_salt", ""));
  }
};

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

class GatewayFixture : public ::testing::Test {
 protected:
  void TearDown() override {
    gateway_.reset();
    endpoints_.clear();
  }

  void start_endpoints(int n) {
    for (int i = 0; i < n; ++i) {
      auto ep = SimEndpoint::start("ep" + std::to_string(i));
      ASSERT_TRUE(ep) << ep.error().message();
      endpoints_.push_back(std::move(*ep));
    }
  }

  GatewayOptions default_options() {
    GatewayOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    for (const auto& ep : endpoints_) o.endpoints.push_back(*EndpointAddress::parse(ep->url()));
    o.prompt_reader = std::make_shared<BytePromptReader>();
    o.scrape_interval = std::chrono::milliseconds(10);
    o.health_interval = std::chrono::milliseconds(50);
    o.stale_after = std::chrono::milliseconds(500);
    o.shutdown_timeout = std::chrono::milliseconds(5000);
    o.io_threads = 2;
    o.seed = 42;
    return o;
  }

  void start_gateway(GatewayOptions options) {
    auto gateway = Gateway::create(std::move(options));
    ASSERT_TRUE(gateway) << gateway.error().message();
    gateway_ = std::move(*gateway);
    gateway_->start();
    ASSERT_TRUE(wait_until([&] { return gateway_->endpoints().usable().size() == endpoints_.size(); }))
        << "endpoints never became usable";
  }

  void start_gateway() { start_gateway(default_options()); }

  uint16_t port() const { return gateway_->port(); }

  // The sim endpoint a response came from, by its x-gateway-destination-endpoint header.
  int endpoint_of(const HttpResult& r) const {
    const std::string dest = r.header("x-gateway-destination-endpoint");
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      if (dest == "127.0.0.1:" + std::to_string(endpoints_[i]->port())) return int(i);
    }
    return -1;
  }

  // Waits until the gateway has seen `waiting` on endpoint i.
  void wait_for_load(size_t i, double waiting) {
    ASSERT_TRUE(wait_until([&] {
      for (const auto& v : gateway_->endpoints().usable()) {
        if (v.index == i && v.metrics.waiting == waiting) return true;
      }
      return false;
    }));
  }

  std::vector<std::unique_ptr<SimEndpoint>> endpoints_;
  std::unique_ptr<Gateway> gateway_;
};

inline std::string completion(const std::string& prompt, bool stream = false, int sim_id = 0) {
  nlohmann::json body = {{"model", "sim-model"}, {"prompt", prompt}, {"max_tokens", 8},
                         {"stream", stream},     {"sim_id", sim_id}};
  return body.dump();
}

}  // namespace kvtier::router::testing
