// The precise prefix scorer end to end: engines' KV event publishers (the engine's own
// kv::ZmqEventPublisher) feed the router, whose picks follow where the blocks are.
#include "gateway_fixture.h"
#include "kv/block_hash.h"
#include "kv/events/zmq_publisher.h"
#include "router/precise_prefix_cache_scorer.h"

namespace kvtier::router {
namespace {

using testing::http_post;
using testing::wait_until;

class GatewayPreciseTest : public testing::GatewayFixture {
 protected:
  void SetUp() override {
    start_endpoints(3);
    for (int i = 0; i < 3; ++i) {
      kv::KvEventsConfig config;
      config.enable_kv_cache_events = true;
      config.endpoint = "tcp://127.0.0.1:0";
      auto publisher = kv::ZmqEventPublisher::create(config);
      ASSERT_TRUE(publisher) << publisher.error().message();
      publishers_.push_back(std::move(*publisher));
    }
    std::string yaml = R"(
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: precise-prefix-cache-scorer
  parameters:
    tokenProcessorConfig:
      blockSize: 16
    kvEventsConfig:
      endpoints:
)";
    for (int i = 0; i < 3; ++i) {
      yaml += "        \"127.0.0.1:" + std::to_string(endpoints_[i]->port()) + "\": " +
              publishers_[i]->endpoint() + "\n";
    }
    yaml += R"(
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 1
  - pluginRef: precise-prefix-cache-scorer
    weight: 3
)";
    auto config = parse_picker_config(yaml);
    ASSERT_TRUE(config) << config.error().message();
    auto options = default_options();
    options.picker_config = *config;
    start_gateway(options);
    scorer_ = dynamic_cast<PrecisePrefixCacheScorer*>(
        gateway_->scheduler().scorers()[1].scorer.get());
    ASSERT_NE(scorer_, nullptr);
  }

  void TearDown() override {
    GatewayFixture::TearDown();
    publishers_.clear();
  }

  // Publishes one step's event until the router's index shows `done` (ZMQ drops messages sent
  // before a subscription has propagated).
  template <typename Emit, typename Done>
  void publish_until(int endpoint, Emit emit, Done done) {
    ASSERT_TRUE(wait_until([&] {
      emit(*publishers_[endpoint]);
      publishers_[endpoint]->flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return done();
    }));
  }

  static kv::BlockStoredEvent stored(const std::vector<uint64_t>& keys, const char* medium) {
    kv::BlockStoredEvent e;
    e.block_hashes = keys;
    e.block_size = 16;
    e.medium = medium;
    return e;
  }

  std::vector<std::unique_ptr<kv::ZmqEventPublisher>> publishers_;
  PrecisePrefixCacheScorer* scorer_ = nullptr;
};

TEST_F(GatewayPreciseTest, RoutesToWhereTheBlocksAreGpuBeforeCpuBeforeMiss) {
  std::string prompt;
  while (prompt.size() < 640) prompt += "the long shared system prompt of this test. ";
  const std::vector<int32_t> tokens(prompt.begin(), prompt.end());  // BytePromptReader's tokens
  const auto keys = kv::hash_token_blocks(tokens, 16);
  ASSERT_EQ(keys.size(), prompt.size() / 16);
  KvBlockIndex& index = scorer_->index();

  // The CPU tier of endpoint 1 holds the prefix: a CPU hit beats the misses.
  publish_until(
      1, [&](kv::ZmqEventPublisher& p) { p.block_stored(stored(keys, "CPU")); },
      [&] { return index.count(1, "cpu") == keys.size(); });
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(endpoint_of(http_post(port(), "/v1/completions", testing::completion(prompt))), 1);
  }
  // Endpoint 2 gets it on the GPU: a GPU hit beats the CPU hit.
  publish_until(
      2, [&](kv::ZmqEventPublisher& p) { p.block_stored(stored(keys, "GPU")); },
      [&] { return index.count(2, "gpu") == keys.size(); });
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(endpoint_of(http_post(port(), "/v1/completions", testing::completion(prompt))), 2);
  }
  // Endpoint 2 evicts the first block: its run is gone, the CPU copy wins again.
  publish_until(
      2,
      [&](kv::ZmqEventPublisher& p) {
        kv::BlockRemovedEvent e;
        e.block_hashes = {keys[0]};
        e.medium = "GPU";
        p.block_removed(e);
      },
      [&] { return index.count(2, "gpu") == keys.size() - 1; });
  EXPECT_EQ(endpoint_of(http_post(port(), "/v1/completions", testing::completion(prompt))), 1);
  // Unrelated prompts are not pulled to either.
  std::set<int> spread;
  for (int i = 0; i < 30; ++i) {
    spread.insert(endpoint_of(
        http_post(port(), "/v1/completions", testing::completion("other " + std::to_string(i)))));
  }
  EXPECT_EQ(spread.size(), 3u);
}

}  // namespace
}  // namespace kvtier::router
