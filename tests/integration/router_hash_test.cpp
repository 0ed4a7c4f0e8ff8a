// kvtier route in front of `kvtier serve` engines keying blocks with vLLM's sha256_cbor under
// PYTHONHASHSEED: a router configured with the same hashAlgorithm and hashSeed predicts the keys
// the engines publish in their KV events and routes shared prefixes home; one with another seed
// matches nothing and warns once per engine.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "integration/serve_process.h"
#include "integration/test_helpers.h"
#include "kv/block_hasher.h"
#include "router/endpoint_pool.h"
#include "router/gateway.h"
#include "router/http_client.h"
#include "router/precise_prefix_cache_scorer.h"
#include "router/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::router {
namespace {

using server::testing::ServeProcess;
using server::testing::tiny_model_dir;
using kvtier::testing::wait_until;

// The engines inherit the variable from this process when they are spawned.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  size_t count(const std::string& needle) const {
    const std::string t = out_.str();
    size_t n = 0;
    for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
    return n;
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

std::string chat(const std::string& system, const std::string& user) {
  return nlohmann::json{
      {"messages",
       {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}}},
      {"max_tokens", 2},
      {"temperature", 0}}
      .dump();
}

std::string system_prompt(const std::string& topic) {
  std::string s;
  for (int i = 0; i < 30; ++i) s += "You answer questions about " + topic + " carefully. ";
  return s;
}

class RouterHashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ScopedEnv seed("PYTHONHASHSEED", "42");
    for (int i = 0; i < 2; ++i) {
      const std::string events =
          R"({"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://127.0.0.1:*"})";
      engines_.push_back(std::make_unique<ServeProcess>(
          tiny_model_dir(),
          std::vector<std::string>{"--kv-events-config", events, "--prefix-caching-hash-algo",
                                   "sha256_cbor", "--enable-prompt-tokens-details"}));
    }
  }
  static void TearDownTestSuite() { engines_.clear(); }

  void SetUp() override {
    for (auto& e : engines_) {
      ASSERT_TRUE(e->ready()) << e->log();
      ASSERT_NE(e->kv_events_port(), 0) << e->log();
    }
  }

  std::string endpoint_id(size_t i) const {
    return "127.0.0.1:" + std::to_string(engines_[i]->port());
  }

  // A gateway whose precise scorer computes sha256_cbor keys under `hash_seed`.
  std::unique_ptr<Gateway> start_gateway(const std::string& hash_seed) {
    std::string yaml = R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: precise-prefix-cache-scorer
  parameters:
    tokenProcessorConfig:
      blockSize: 16
      hashAlgorithm: sha256_cbor
      hashSeed: ")" + hash_seed +
                       R"("
    kvEventsConfig:
      endpoints:
)";
    for (size_t i = 0; i < engines_.size(); ++i) {
      yaml += "        \"" + endpoint_id(i) +
              "\": tcp://127.0.0.1:" + std::to_string(engines_[i]->kv_events_port()) + "\n";
    }
    yaml += R"(
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: precise-prefix-cache-scorer
    weight: 3
)";
    GatewayOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    for (size_t i = 0; i < engines_.size(); ++i) {
      o.endpoints.push_back(*EndpointAddress::parse(endpoint_id(i)));
    }
    auto tok = tokenizer::Tokenizer::load(tiny_model_dir());
    EXPECT_TRUE(tok) << tok.error().message();
    if (!tok) return nullptr;
    o.prompt_reader = make_tokenizer_prompt_reader(*tok);
    prompt_reader_ = o.prompt_reader;
    o.scrape_interval = std::chrono::milliseconds(20);
    o.health_interval = std::chrono::milliseconds(200);
    o.io_threads = 2;
    o.seed = 7;
    auto config = parse_picker_config(yaml);
    EXPECT_TRUE(config) << config.error().message();
    if (!config) return nullptr;
    o.picker_config = *config;
    auto gateway = Gateway::create(std::move(o));
    EXPECT_TRUE(gateway) << gateway.error().message();
    if (!gateway) return nullptr;
    (*gateway)->start();
    EXPECT_TRUE(wait_until([&] {
      auto usable = (*gateway)->endpoints().usable();
      return usable.size() == engines_.size() &&
             std::all_of(usable.begin(), usable.end(),
                         [](const EndpointView& v) { return v.metrics.hash_algo.has_value(); });
    }));
    return std::move(*gateway);
  }

  static PrecisePrefixCacheScorer* precise(Gateway& g) {
    return dynamic_cast<PrecisePrefixCacheScorer*>(g.scheduler().scorers()[1].scorer.get());
  }

  // Sends a conversation's first request and waits until its engine's KV events (10 blocks or
  // more) are in the scorer's index. Returns that engine's index; engines_.size() when the
  // request went nowhere known or the events did not come.
  size_t route_first_and_index(Gateway& g, const std::string& system) {
    auto first = testing::http_post(g.port(), "/v1/chat/completions", chat(system, "Hi?"));
    EXPECT_EQ(first.status, 200) << first.body << first.error;
    const size_t home = index_of(first.header("x-gateway-destination-endpoint"));
    if (home >= engines_.size()) return home;
    const bool indexed = wait_until([&] { return precise(g)->index().count(home, "gpu") >= 10; });
    EXPECT_TRUE(indexed) << "no KV events from engine " << home;
    return indexed ? home : engines_.size();
  }

  // The precise scorer's scores of a follow-up question in the same conversation, one per
  // endpoint of `views`.
  std::vector<double> follow_up_scores(Gateway& g, const std::string& system,
                                       const std::vector<EndpointView>& views) {
    auto request = prompt_reader_->read(ApiKind::kChatCompletions,
                                        nlohmann::json::parse(chat(system, "Another question?")));
    EXPECT_TRUE(request) << request.error().message();
    if (!request) return {};
    return precise(g)->score(*request, views);
  }

  size_t index_of(const std::string& destination) const {
    for (size_t i = 0; i < engines_.size(); ++i) {
      if (destination == endpoint_id(i)) return i;
    }
    return engines_.size();
  }

  static inline std::vector<std::unique_ptr<ServeProcess>> engines_;
  std::shared_ptr<const PromptReader> prompt_reader_;
};

TEST_F(RouterHashTest, EnginesPublishTheirAlgorithmAndSeedFingerprint) {
  const kv::BlockHasher expected(kv::BlockHashConfig{kv::HashAlgo::kSha256Cbor, "42"});
  for (size_t i = 0; i < engines_.size(); ++i) {
    auto metrics = testing::http_get(engines_[i]->port(), "/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.error;
    EXPECT_NE(metrics.body.find("prefix_caching_hash_algo=\"sha256_cbor\""), std::string::npos);
    EXPECT_NE(metrics.body.find(fmt::format("prefix_caching_hash_fingerprint=\"{:016x}\"",
                                            expected.fingerprint())),
              std::string::npos)
        << metrics.body.substr(0, 4000);
  }
}

TEST_F(RouterHashTest, SameAlgorithmAndSeedRouteSharedPrefixesHome) {
  LogCapture log;
  auto gateway = start_gateway("42");
  ASSERT_TRUE(gateway);
  const std::string system = system_prompt("sha256_cbor block keys");
  // The engine's sha256_cbor keys reach the index, and they are the keys the scorer predicts.
  const size_t home = route_first_and_index(*gateway, system);
  ASSERT_LT(home, engines_.size());
  const auto views = gateway->endpoints().usable();
  const auto scores = follow_up_scores(*gateway, system, views);
  ASSERT_EQ(scores.size(), views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    if (views[i].index == home) {
      EXPECT_GT(scores[i], 0.5) << "keys the engine published match the scorer's";
    } else {
      EXPECT_EQ(scores[i], 0.0);
    }
  }
  for (int i = 0; i < 3; ++i) {
    auto r = testing::http_post(gateway->port(), "/v1/chat/completions",
                                chat(system, "Question " + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(index_of(r.header("x-gateway-destination-endpoint")), home) << "request " << i;
    auto usage = nlohmann::json::parse(r.body)["usage"];
    EXPECT_GE(usage["prompt_tokens_details"]["cached_tokens"].get<int>(), 16 * 10) << usage;
  }
  EXPECT_EQ(log.count("its KV events can never match"), 0u) << log.text();
}

TEST_F(RouterHashTest, AnotherSeedScoresNothingAndWarnsOncePerEngine) {
  LogCapture log;
  auto gateway = start_gateway("43");
  ASSERT_TRUE(gateway);
  const std::string system = system_prompt("hash seeds that differ");
  // The events arrive, but under PYTHONHASHSEED=42 keys.
  ASSERT_LT(route_first_and_index(*gateway, system), engines_.size());
  const auto views = gateway->endpoints().usable();
  ASSERT_EQ(views.size(), engines_.size());
  const auto scores = follow_up_scores(*gateway, system, views);
  ASSERT_EQ(scores.size(), views.size());
  for (double s : scores) EXPECT_EQ(s, 0.0);
  for (int i = 0; i < 2; ++i) {
    auto r = testing::http_post(gateway->port(), "/v1/chat/completions",
                                chat(system, "Question " + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  for (size_t i = 0; i < engines_.size(); ++i) {
    EXPECT_EQ(log.count("endpoint " + endpoint_id(i) +
                        " hashes blocks with 'sha256_cbor' from another hash seed"),
              1u)
        << log.text();
  }
}

}  // namespace
}  // namespace kvtier::router
