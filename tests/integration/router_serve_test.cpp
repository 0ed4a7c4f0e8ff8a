// kvtier route in front of real `kvtier serve` processes on the tiny model: the precise scorer
// follows the engines' own KV events (so the router's tokens and block keys must be the
// engines'), shared prefixes stay on one engine, a killed engine drops out, and a stream through
// the router is byte for byte the stream the engine sent.
#include <gtest/gtest.h>

#include <signal.h>

#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "integration/serve_process.h"
#include "integration/test_helpers.h"
#include "router/endpoint_pool.h"
#include "router/gateway.h"
#include "router/precise_prefix_cache_scorer.h"
#include "router/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::router {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using server::testing::ServeProcess;
using server::testing::tiny_model_dir;
using kvtier::testing::wait_until;
using tcp = asio::ip::tcp;

struct Reply {
  int status = 0;
  std::string destination;
  std::string body;
};

Reply post(uint16_t port, const std::string& target, const nlohmann::json& body) {
  Reply r;
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(120));
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = body.dump();
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read(stream, buffer, parser);
    r.status = int(parser.get().result_int());
    r.destination = std::string(parser.get()["x-gateway-destination-endpoint"]);
    r.body = parser.get().body();
  } catch (const std::exception& e) {
    r.body = e.what();
  }
  return r;
}

std::shared_ptr<const PromptReader> model_prompt_reader() {
  auto tok = tokenizer::Tokenizer::load(tiny_model_dir());
  EXPECT_TRUE(tok) << tok.error().message();
  return tok ? make_tokenizer_prompt_reader(*tok) : nullptr;
}

GatewayOptions gateway_options(const std::vector<std::unique_ptr<ServeProcess>>& engines) {
  GatewayOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  for (const auto& e : engines) {
    o.endpoints.push_back(*EndpointAddress::parse("127.0.0.1:" + std::to_string(e->port())));
  }
  o.prompt_reader = model_prompt_reader();
  o.scrape_interval = std::chrono::milliseconds(20);
  o.health_interval = std::chrono::milliseconds(200);
  o.io_threads = 2;
  o.seed = 7;
  return o;
}

std::unique_ptr<Gateway> start_gateway(GatewayOptions options, size_t endpoints) {
  auto gateway = Gateway::create(std::move(options));
  EXPECT_TRUE(gateway) << gateway.error().message();
  if (!gateway) return nullptr;
  (*gateway)->start();
  EXPECT_TRUE(wait_until([&] { return (*gateway)->endpoints().usable().size() == endpoints; }));
  return std::move(*gateway);
}

nlohmann::json chat(const std::string& system, const std::string& user, bool stream = false) {
  return {{"messages", {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}}},
          {"max_tokens", 4},
          {"temperature", 0},
          {"stream", stream}};
}

std::string long_system_prompt() {
  std::string s;
  for (int i = 0; i < 30; ++i) s += "You answer questions about tiered KV caches carefully. ";
  return s;
}

TEST(RouterServeTest, PreciseScorerFollowsTheEnginesKvEvents) {
  const auto model = tiny_model_dir();
  std::vector<std::unique_ptr<ServeProcess>> engines;
  for (int i = 0; i < 3; ++i) {
    const std::string events =
        R"({"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://127.0.0.1:*"})";
    engines.push_back(std::make_unique<ServeProcess>(
        model, std::vector<std::string>{"--kv-events-config", events,
                                        "--enable-prompt-tokens-details"}));
    ASSERT_TRUE(engines.back()->ready()) << engines.back()->log();
    ASSERT_NE(engines.back()->kv_events_port(), 0) << engines.back()->log();
  }
  std::string yaml = R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: precise-prefix-cache-scorer
  parameters:
    kvEventsConfig:
      endpoints:
)";
  for (int i = 0; i < 3; ++i) {
    yaml += "        \"127.0.0.1:" + std::to_string(engines[i]->port()) + "\": tcp://127.0.0.1:" +
            std::to_string(engines[i]->kv_events_port()) + "\n";
  }
  yaml += R"(
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: precise-prefix-cache-scorer
    weight: 3
)";
  auto options = gateway_options(engines);
  auto config = parse_picker_config(yaml);
  ASSERT_TRUE(config) << config.error().message();
  options.picker_config = *config;
  auto gateway = start_gateway(std::move(options), 3);
  ASSERT_TRUE(gateway);
  auto* precise =
      dynamic_cast<PrecisePrefixCacheScorer*>(gateway->scheduler().scorers()[1].scorer.get());
  ASSERT_NE(precise, nullptr);

  const std::string system = long_system_prompt();
  Reply first = post(gateway->port(), "/v1/chat/completions", chat(system, "What is a block?"));
  ASSERT_EQ(first.status, 200) << first.body;
  size_t home = 3;
  for (size_t i = 0; i < 3; ++i) {
    if (first.destination == "127.0.0.1:" + std::to_string(engines[i]->port())) home = i;
  }
  ASSERT_LT(home, 3u) << first.destination;
  // The engine's BlockStored events reach the router's index.
  ASSERT_TRUE(wait_until([&] { return precise->index().count(home, "gpu") >= 10; }));
  for (int i = 0; i < 4; ++i) {
    Reply r = post(gateway->port(), "/v1/chat/completions",
                   chat(system, "Question number " + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.destination, first.destination) << "request " << i;
    // The engine confirms: the shared prefix came from its cache.
    auto usage = nlohmann::json::parse(r.body)["usage"];
    EXPECT_GE(usage["prompt_tokens_details"]["cached_tokens"].get<int>(), 16 * 10) << usage;
  }
  // Prompts that share nothing are spread over the engines (equal load, ties broken at random).
  std::set<std::string> spread;
  for (int i = 0; i < 12; ++i) {
    Reply r = post(gateway->port(), "/v1/completions",
                   {{"prompt", "Unrelated prompt number " + std::to_string(i * 7919)},
                    {"max_tokens", 2}});
    ASSERT_EQ(r.status, 200) << r.body;
    spread.insert(r.destination);
  }
  EXPECT_GE(spread.size(), 2u);
}

TEST(RouterServeTest, SharedPrefixStaysAndAKilledEngineDropsOut) {
  const auto model = tiny_model_dir();
  std::vector<std::unique_ptr<ServeProcess>> engines;
  for (int i = 0; i < 2; ++i) {
    engines.push_back(std::make_unique<ServeProcess>(model));
    ASSERT_TRUE(engines.back()->ready()) << engines.back()->log();
  }
  auto gateway = start_gateway(gateway_options(engines), 2);  // the default profile
  ASSERT_TRUE(gateway);
  const std::string system = long_system_prompt();
  Reply first = post(gateway->port(), "/v1/chat/completions", chat(system, "Hello"));
  ASSERT_EQ(first.status, 200) << first.body;
  for (int i = 0; i < 3; ++i) {
    Reply r = post(gateway->port(), "/v1/chat/completions", chat(system, "Again " + std::to_string(i)));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.destination, first.destination);
  }
  const size_t home = first.destination == "127.0.0.1:" + std::to_string(engines[0]->port()) ? 0 : 1;
  engines[home]->signal(SIGKILL);
  ASSERT_TRUE(engines[home]->wait_exit(std::chrono::seconds(10)).has_value());
  const std::string other = "127.0.0.1:" + std::to_string(engines[1 - home]->port());
  for (int i = 0; i < 3; ++i) {
    Reply r = post(gateway->port(), "/v1/chat/completions", chat(system, "After " + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.destination, other);
  }
  EXPECT_TRUE(wait_until([&] { return !gateway->endpoints().is_usable(home); }));
}

// Relays bytes between the router and an engine and records what the engine sent.
class Tap {
 public:
  explicit Tap(uint16_t target) : target_(target), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~Tap() {
    // Shutting the listening socket down wakes the blocked accept(); closing it would not.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& t : pumps_) t.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> from_engine() {
    std::lock_guard lock(mu_);
    return recorded_;
  }

 private:
  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto client = std::make_shared<tcp::socket>(ioc_);
      acceptor_.accept(*client, ec);
      if (ec) return;
      auto engine = std::make_shared<tcp::socket>(ioc_);
      engine->connect({asio::ip::make_address("127.0.0.1"), target_}, ec);
      if (ec) continue;
      size_t slot;
      {
        std::lock_guard lock(mu_);
        slot = recorded_.size();
        recorded_.emplace_back();
      }
      pumps_.emplace_back([this, client, engine] { pump(*client, *engine, nullptr); });
      pumps_.emplace_back([this, client, engine, slot] { pump(*engine, *client, &slot); });
    }
  }
  void pump(tcp::socket& from, tcp::socket& to, const size_t* slot) {
    char buf[16384];
    boost::system::error_code ec;
    for (;;) {
      size_t n = from.read_some(asio::buffer(buf), ec);
      if (ec) break;
      if (slot) {
        std::lock_guard lock(mu_);
        recorded_[*slot].append(buf, n);
      }
      asio::write(to, asio::buffer(buf, n), ec);
      if (ec) break;
    }
    to.shutdown(tcp::socket::shutdown_send, ec);
  }

  uint16_t target_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::thread> pumps_;
  std::mutex mu_;
  std::vector<std::string> recorded_;  // per connection, bytes from the engine
};

TEST(RouterServeTest, StreamThroughTheRouterIsTheEnginesStreamByteForByte) {
  const auto model = tiny_model_dir();
  std::vector<std::unique_ptr<ServeProcess>> engines;
  engines.push_back(std::make_unique<ServeProcess>(model));
  ASSERT_TRUE(engines.back()->ready()) << engines.back()->log();
  Tap tap(engines[0]->port());
  auto options = gateway_options(engines);
  options.endpoints = {*EndpointAddress::parse("127.0.0.1:" + std::to_string(tap.port()))};
  auto gateway = start_gateway(std::move(options), 1);
  ASSERT_TRUE(gateway);
  for (const auto& [target, body] :
       {std::pair<std::string, nlohmann::json>{"/v1/chat/completions", chat("Be brief.", "Count", true)},
        {"/v1/completions",
         {{"prompt", "Once upon a time"}, {"max_tokens", 12}, {"stream", true},
          {"stream_options", {{"include_usage", true}}}}}}) {
    Reply r = post(gateway->port(), target, body);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_NE(r.body.find("data: [DONE]"), std::string::npos);
    // Find the engine's response carrying this stream and undo its chunked framing.
    std::string engine_body;
    for (const std::string& bytes : tap.from_engine()) {
      std::string_view rest(bytes);
      while (!rest.empty()) {
        http::response_parser<http::string_body> parser;
        parser.eager(true);
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        boost::system::error_code ec;
        while (!rest.empty() && !parser.is_done()) {
          size_t used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
          if (ec) break;
          rest.remove_prefix(used);
        }
        if (ec || !parser.is_done()) break;
        if (parser.get()[http::field::content_type].starts_with("text/event-stream") &&
            parser.get().body().substr(0, 60) == r.body.substr(0, 60)) {
          engine_body = parser.get().body();
        }
      }
    }
    ASSERT_FALSE(engine_body.empty()) << "the engine's stream was not recorded";
    EXPECT_EQ(r.body, engine_body);
  }
}

}  // namespace
}  // namespace kvtier::router
