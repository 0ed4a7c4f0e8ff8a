#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "kv_event_builder.h"
#include "kv/block_hash.h"
#include "kv/events/zmq_publisher.h"
#include "router/kv_block_index.h"
#include "router/kv_event_decoder.h"
#include "router/kv_event_subscriber.h"
#include "router/precise_prefix_cache_scorer.h"
#include "router/pickers.h"
#include "router/scheduler.h"

namespace kvtier::router {
namespace {

using testing::KvBatchBuilder;
using testing::removed_spec;
using testing::stored_spec;

kv::BlockStoredEvent stored(std::vector<uint64_t> hashes, std::string medium) {
  kv::BlockStoredEvent e;
  e.block_hashes = std::move(hashes);
  e.medium = std::move(medium);
  return e;
}

kv::BlockRemovedEvent removed(std::vector<uint64_t> hashes, std::string medium) {
  kv::BlockRemovedEvent e;
  e.block_hashes = std::move(hashes);
  e.medium = std::move(medium);
  return e;
}

PrecisePrefixCacheScorerOptions options_with_block_size(int32_t block_size) {
  PrecisePrefixCacheScorerOptions o;
  o.block_size = block_size;
  return o;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class KvEventEncodingTest : public ::testing::TestWithParam<bool> {};

TEST_P(KvEventEncodingTest, DecodesAllEventTypes) {
  const std::string payload =
      KvBatchBuilder(GetParam())
          .stored(stored_spec({11, 0xFFFFFFFFFFFFFFF0ull}, "CPU", 7, {1, 2, 3, 4}, 2))
          .stored(stored_spec({12}, std::nullopt, std::nullopt, {5, 6}, 2))
          .removed(removed_spec({11}, "GPU"))
          .cleared()
          .build(12.5, 3);
  auto batch = decode_kv_event_batch(bytes(payload));
  ASSERT_TRUE(batch) << batch.error().message();
  EXPECT_DOUBLE_EQ(batch->ts, 12.5);
  EXPECT_EQ(batch->data_parallel_rank, 3);
  ASSERT_EQ(batch->events.size(), 4u);
  const auto& s0 = std::get<kv::BlockStoredEvent>(batch->events[0]);
  EXPECT_EQ(s0.block_hashes, (std::vector<uint64_t>{11, 0xFFFFFFFFFFFFFFF0ull}));
  EXPECT_EQ(s0.parent_block_hash, 7u);
  EXPECT_EQ(s0.token_ids, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(s0.block_size, 2);
  EXPECT_EQ(s0.medium, "CPU");
  const auto& s1 = std::get<kv::BlockStoredEvent>(batch->events[1]);
  EXPECT_FALSE(s1.parent_block_hash.has_value());
  EXPECT_EQ(s1.medium, "GPU");  // nil medium means GPU
  const auto& r = std::get<kv::BlockRemovedEvent>(batch->events[2]);
  EXPECT_EQ(r.block_hashes, (std::vector<uint64_t>{11}));
  EXPECT_TRUE(std::holds_alternative<AllBlocksClearedEvent>(batch->events[3]));
}

INSTANTIATE_TEST_SUITE_P(Encodings, KvEventEncodingTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Maps" : "Arrays"; });

TEST(KvEventDecoderTest, SignedAndByteHashes) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> p(buffer);
  p.pack_array(2);
  p.pack(1.0);
  p.pack_array(1);
  p.pack_array(7);
  p.pack(std::string("BlockStored"));
  p.pack_array(2);
  p.pack(int64_t{-2});  // Python's hash() is signed
  const char raw[10] = {0x7f, 0x7e, 0, 0, 0, 0, 0, 0, 0x01, 0x02};
  p.pack_bin(10);
  p.pack_bin_body(raw, 10);  // bytes: the last 8, big-endian
  p.pack_nil();
  p.pack_array(0);
  p.pack(16);
  p.pack_nil();
  p.pack(std::string("GPU"));
  auto batch = decode_kv_event_batch(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buffer.data()), buffer.size()));
  ASSERT_TRUE(batch) << batch.error().message();
  const auto& s = std::get<kv::BlockStoredEvent>(batch->events[0]);
  EXPECT_EQ(s.block_hashes[0], 0xFFFFFFFFFFFFFFFEull);
  EXPECT_EQ(s.block_hashes[1], 0x0000000000000102ull);
}

TEST(KvEventDecoderTest, MalformedPayloadsAreErrorsNotCrashes) {
  const std::string good = KvBatchBuilder(false).stored(stored_spec({1}, "GPU")).build();
  std::vector<std::string> bad = {
      "",
      "\xc1",                                 // never-used msgpack byte
      good.substr(0, good.size() / 2),        // truncated
      "\xdd\xff\xff\xff\xff",                 // array32 claiming 4G elements
      KvBatchBuilder(false).build().substr(1),
  };
  {  // unknown event tag
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> p(b);
    p.pack_array(2);
    p.pack(1.0);
    p.pack_array(1);
    p.pack_array(1);
    p.pack(std::string("BlockExploded"));
    bad.emplace_back(b.data(), b.size());
  }
  {  // hashes of the wrong type
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> p(b);
    p.pack_array(2);
    p.pack(1.0);
    p.pack_array(1);
    p.pack_array(2);
    p.pack(std::string("BlockRemoved"));
    p.pack(std::string("not a list"));
    bad.emplace_back(b.data(), b.size());
  }
  for (const auto& payload : bad) {
    auto batch = decode_kv_event_batch(bytes(payload));
    EXPECT_FALSE(batch) << "accepted a payload of " << payload.size() << " bytes";
    if (!batch) {
      EXPECT_EQ(batch.error().code(), ErrorCode::kDataLoss);
    }
  }
}

TEST(KvBlockIndexTest, TracksTiersAndWeightsTheLeadingRun) {
  KvBlockIndex index(2, {{"gpu", 1.0}, {"cpu", 0.8}}, 1000);
  const std::vector<uint64_t> keys = {1, 2, 3, 4};
  index.apply(0, stored({1, 2}, "GPU"));
  index.apply(0, stored({2, 3}, "cpu"));
  index.apply(1, stored({1, 2, 3, 4}, "CPU"));
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys), 1.0 + 1.0 + 0.8);  // 4 held nowhere
  EXPECT_DOUBLE_EQ(index.weighted_prefix(1, keys), 4 * 0.8);
  EXPECT_EQ(index.count(0, "gpu"), 2u);
  EXPECT_EQ(index.count(0, "CPU"), 2u);
  // Removing the GPU copy of block 2 leaves the CPU copy; removing block 1 ends the run.
  index.apply(0, removed({2}, "GPU"));
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys), 1.0 + 0.8 + 0.8);
  index.apply(0, removed({1}, "GPU"));
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys), 0.0);
  // Unknown mediums are ignored and counted.
  index.apply(1, stored({9}, "DISK"));
  EXPECT_EQ(index.ignored_events(), 1u);
  index.apply(1, AllBlocksClearedEvent{});
  EXPECT_DOUBLE_EQ(index.weighted_prefix(1, keys), 0.0);
}

TEST(KvBlockIndexTest, SpeculativeEntriesExpire) {
  KvBlockIndex index(1, {{"gpu", 1.0}, {"cpu", 0.8}}, 1000);
  const std::vector<uint64_t> keys = {5, 6};
  const auto now = KvBlockIndex::Clock::now();
  index.add_speculative(0, keys, now + std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys, now), 2.0);
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys, now + std::chrono::seconds(11)), 0.0);
}

TEST(KvBlockIndexTest, CapacityBoundsKeysPerEndpoint) {
  KvBlockIndex index(1, {{"gpu", 1.0}}, 2);
  index.apply(0, stored({1, 2, 3}, "GPU"));
  EXPECT_EQ(index.count(0, "gpu"), 2u);
  EXPECT_EQ(index.ignored_events(), 1u);
}

EndpointView view(size_t i) {
  EndpointView v;
  v.index = i;
  v.id = "127.0.0.1:" + std::to_string(8001 + i);
  return v;
}

// The brief's ordering: a GPU hit beats a CPU hit, which beats a miss.
TEST(PrecisePrefixCacheScorerTest, GpuHitOutranksCpuHitOutranksMiss) {
  auto scorer = PrecisePrefixCacheScorer::create(options_with_block_size(4), {"a:1", "b:1", "c:1"});
  ASSERT_TRUE(scorer) << scorer.error().message();
  std::vector<int32_t> prompt(20);
  for (int i = 0; i < 20; ++i) prompt[i] = 100 + i;
  const auto keys = kv::hash_token_blocks(prompt, 4);
  ASSERT_EQ(keys.size(), 5u);
  (*scorer)->index().apply(0, stored(keys, "GPU"));
  (*scorer)->index().apply(1, stored(keys, "CPU"));
  SchedulingRequest request(prompt, "");
  std::vector<EndpointView> eps = {view(0), view(1), view(2)};
  auto s = (*scorer)->score(request, eps);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.8);
  EXPECT_DOUBLE_EQ(s[2], 0.0);

  std::shared_ptr<Scorer> shared(std::move(*scorer));
  Scheduler scheduler("default", {{"precise", 1.0, shared}}, std::make_unique<MaxScorePicker>(), 3);
  EXPECT_EQ(scheduler.schedule(request, eps).order, (std::vector<size_t>{0, 1, 2}));
  // Without the GPU holder, the CPU holder wins over the miss.
  std::vector<EndpointView> no_gpu = {view(2), view(1)};
  EXPECT_EQ(scheduler.schedule(request, no_gpu).order[0], 1u);
}

TEST(PrecisePrefixCacheScorerTest, MinMaxNormalizationAsLlmd) {
  PrecisePrefixCacheScorerOptions o;
  o.block_size = 4;
  o.normalization = PrecisePrefixCacheScorerOptions::Normalization::kMinMax;
  auto scorer = PrecisePrefixCacheScorer::create(o, {"a:1", "b:1", "c:1"});
  ASSERT_TRUE(scorer);
  std::vector<int32_t> prompt(16, 3);
  const auto keys = kv::hash_token_blocks(prompt, 4);
  (*scorer)->index().apply(0, stored(keys, "GPU"));
  (*scorer)->index().apply(
      1, stored({keys[0], keys[1]}, "GPU"));
  std::vector<EndpointView> eps = {view(0), view(1), view(2)};
  auto s = (*scorer)->score(SchedulingRequest(prompt, ""), eps);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_DOUBLE_EQ(s[1], 0.0);  // the minimum among holders
  EXPECT_DOUBLE_EQ(s[2], 0.0);
}

TEST(PrecisePrefixCacheScorerTest, SpeculativeIndexingCoversTheGapBeforeEvents) {
  PrecisePrefixCacheScorerOptions o;
  o.block_size = 4;
  o.speculative_indexing = true;
  auto scorer = PrecisePrefixCacheScorer::create(o, {"a:1", "b:1"});
  ASSERT_TRUE(scorer);
  std::vector<int32_t> prompt(16, 9);
  SchedulingRequest request(prompt, "");
  std::vector<EndpointView> eps = {view(0), view(1)};
  (*scorer)->on_routed(request, eps[1]);
  auto s = (*scorer)->score(request, eps);
  EXPECT_DOUBLE_EQ(s[0], 0.0);
  EXPECT_DOUBLE_EQ(s[1], 1.0);
}

// A publisher as vLLM's ZmqEventPublisher sends: [topic, 8-byte big-endian seq, payload].
class Publisher {
 public:
  Publisher() : socket_(context_, zmq::socket_type::pub) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    address_ = socket_.get(zmq::sockopt::last_endpoint);
  }
  const std::string& address() const { return address_; }
  void send(const std::string& topic, uint64_t seq, const std::string& payload) {
    unsigned char seq_bytes[8];
    for (int i = 0; i < 8; ++i) seq_bytes[i] = static_cast<unsigned char>(seq >> (56 - 8 * i));
    std::array<zmq::const_buffer, 3> frames = {zmq::buffer(topic), zmq::buffer(seq_bytes, 8),
                                               zmq::buffer(payload)};
    zmq::send_multipart(socket_, frames);
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::string address_;
};

template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

TEST(KvEventSubscriberTest, FollowsPublishersOverZmq) {
  Publisher a, b;
  KvBlockIndex index(2, {{"gpu", 1.0}, {"cpu", 0.8}}, 1000);
  auto sub = KvEventSubscriber::start({{a.address(), 0}, {b.address(), 1}}, "", nullptr, index);
  ASSERT_TRUE(sub) << sub.error().message();
  // PUB drops messages until the subscription has propagated: publish until one lands.
  uint64_t seq = 0;
  const std::string stored_a =
      KvBatchBuilder(true).stored(stored_spec({1, 2}, "GPU")).build();
  ASSERT_TRUE(wait_for([&] {
    a.send("", seq++, stored_a);
    return index.count(0, "gpu") == 2;
  }));
  // b's subscription propagates on its own schedule too.
  uint64_t seq_b = 0;
  const std::string stored_b = KvBatchBuilder(false).stored(stored_spec({1}, "CPU")).build();
  ASSERT_TRUE(wait_for([&] {
    b.send("kv@x@m", seq_b++, stored_b);
    return index.count(1, "cpu") == 1;
  }));
  EXPECT_EQ(index.count(1, "gpu"), 0u);
  // A gap in the sequence is counted; garbage is counted and skipped.
  a.send("", seq + 5, KvBatchBuilder(true).removed(removed_spec({2}, "GPU")).build());
  ASSERT_TRUE(wait_for([&] { return index.count(0, "gpu") == 1; }));
  EXPECT_GE((*sub)->counters().sequence_gaps.load(), 1u);
  a.send("", seq + 6, "garbage");
  ASSERT_TRUE(wait_for([&] { return (*sub)->counters().decode_errors.load() >= 1; }));
  // The sequence starting over means the engine restarted: its blocks are forgotten.
  a.send("", 0, KvBatchBuilder(true).stored(stored_spec({7}, "GPU")).build());
  ASSERT_TRUE(wait_for([&] { return (*sub)->counters().restarts.load() == 1; }));
  ASSERT_TRUE(wait_for([&] { return index.count(0, "gpu") == 1; }));
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, std::vector<uint64_t>{7}), 1.0);
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, std::vector<uint64_t>{1}), 0.0);
}

TEST(KvEventSubscriberTest, GlobalSocketResolvesEndpointsFromTopics) {
  // The router binds; engines connect their PUB sockets to it (llm-d's global socket mode).
  PrecisePrefixCacheScorerOptions o;
  // A wildcard port cannot be learned back from the scorer: find a free port first.
  std::string port;
  {
    zmq::context_t probe_ctx;
    zmq::socket_t probe(probe_ctx, zmq::socket_type::pub);
    probe.bind("tcp://127.0.0.1:*");
    const std::string addr = probe.get(zmq::sockopt::last_endpoint);
    port = addr.substr(addr.rfind(':') + 1);
  }
  o.sources = {{"tcp://*:" + port, std::nullopt}};
  auto scorer = PrecisePrefixCacheScorer::create(o, {"10.1.1.1:8000", "10.1.1.2:8000"});
  ASSERT_TRUE(scorer) << scorer.error().message();

  zmq::context_t ctx;
  zmq::socket_t pub(ctx, zmq::socket_type::pub);
  pub.set(zmq::sockopt::linger, 0);
  pub.connect("tcp://127.0.0.1:" + port);
  const std::string payload =
      KvBatchBuilder(true).stored(stored_spec({42}, "GPU")).build();
  uint64_t seq = 0;
  auto send = [&](const std::string& topic) {
    unsigned char seq_bytes[8] = {0, 0, 0, 0, 0, 0, 0, static_cast<unsigned char>(seq++)};
    std::array<zmq::const_buffer, 3> frames = {zmq::buffer(topic), zmq::buffer(seq_bytes, 8),
                                               zmq::buffer(payload)};
    zmq::send_multipart(pub, frames);
  };
  KvBlockIndex& index = (*scorer)->index();
  ASSERT_TRUE(wait_for([&] {
    send("kv@10.1.1.2@Qwen/Qwen3-0.6B");
    return index.count(1, "gpu") == 1;
  }));
  EXPECT_EQ(index.count(0, "gpu"), 0u);
  send("kv@10.9.9.9@Qwen/Qwen3-0.6B");
  ASSERT_TRUE(wait_for([&] {
    return (*scorer)->subscriber()->counters().unknown_topics.load() >= 1;
  }));
}

// The engine's publisher and the router's subscriber agree on the wire format.
TEST(KvEventSubscriberTest, FollowsTheEnginesPublisher) {
  kv::KvEventsConfig config;
  config.enable_kv_cache_events = true;
  config.endpoint = "tcp://127.0.0.1:0";
  config.topic = "kv@127.0.0.1@tiny";
  auto publisher = kv::ZmqEventPublisher::create(config);
  ASSERT_TRUE(publisher) << publisher.error().message();
  KvBlockIndex index(1, {{"gpu", 1.0}, {"cpu", 0.8}}, 1000);
  auto sub = KvEventSubscriber::start({{(*publisher)->endpoint(), 0}}, "kv@", nullptr, index);
  ASSERT_TRUE(sub) << sub.error().message();
  std::vector<int32_t> tokens(48);
  for (int i = 0; i < 48; ++i) tokens[i] = 1000 + i;
  const auto keys = kv::hash_token_blocks(tokens, 16);
  ASSERT_TRUE(wait_for([&] {
    kv::BlockStoredEvent e;
    e.block_hashes = keys;
    e.token_ids = tokens;
    e.block_size = 16;
    e.medium = "GPU";
    (*publisher)->block_stored(e);
    kv::BlockStoredEvent c = e;
    c.block_hashes = {keys[0]};
    c.medium = "CPU";
    (*publisher)->block_stored(c);
    (*publisher)->flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return index.count(0, "gpu") == 3;
  }));
  EXPECT_EQ(index.count(0, "cpu"), 1u);
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys), 3.0);
  (*publisher)->block_removed(removed({keys[1]}, "GPU"));
  (*publisher)->flush();
  ASSERT_TRUE(wait_for([&] { return index.count(0, "gpu") == 2; }));
  EXPECT_DOUBLE_EQ(index.weighted_prefix(0, keys), 1.0);
  (*publisher)->all_blocks_cleared();
  (*publisher)->flush();
  ASSERT_TRUE(wait_for([&] { return index.count(0, "gpu") == 0; }));
  EXPECT_EQ((*sub)->counters().decode_errors.load(), 0u);
}

TEST(KvEventSubscriberTest, BadAddressIsAnError) {
  KvBlockIndex index(1, {{"gpu", 1.0}}, 10);
  auto sub = KvEventSubscriber::start({{"nonsense://x", 0}}, "", nullptr, index);
  ASSERT_FALSE(sub);
  EXPECT_NE(sub.error().message().find("nonsense://x"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::router
