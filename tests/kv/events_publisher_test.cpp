// A ZMQ subscriber on 127.0.0.1 reads what the publisher sends and decodes it with msgpack.
#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "kv/events/publisher.h"
#include "kv/events/zmq_publisher.h"

namespace kvtier::kv {
namespace {

uint64_t seq_of(const zmq::message_t& frame) {
  EXPECT_EQ(frame.size(), 8u);
  uint64_t v = 0;
  const auto* b = static_cast<const unsigned char*>(frame.data());
  for (size_t i = 0; i < 8 && i < frame.size(); ++i) v = (v << 8) | b[i];
  return v;
}

// Receives one multipart message, or none within `timeout_ms`.
std::vector<zmq::message_t> receive(zmq::socket_t& socket, int timeout_ms) {
  socket.set(zmq::sockopt::rcvtimeo, timeout_ms);
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(socket, std::back_inserter(frames))) frames.clear();
  return frames;
}

KvEventsConfig config_for(const std::string& endpoint,
                          const std::string& topic = "kv@pod-1@qwen3") {
  KvEventsConfig config;
  config.enable_kv_cache_events = true;
  config.endpoint = endpoint;
  config.topic = topic;
  return config;
}

// PUB/SUB drops what is sent before the subscription arrives: send AllBlocksCleared batches
// until one gets through, and return its sequence number.
uint64_t wait_until_connected(ZmqEventPublisher& publisher, zmq::socket_t& sub) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    publisher.all_blocks_cleared();
    publisher.flush();
    auto frames = receive(sub, 100);
    if (frames.size() == 3) return seq_of(frames[1]);
  }
  ADD_FAILURE() << "the subscriber never received a batch";
  return 0;
}

const msgpack::object& at(const msgpack::object& array, size_t i) {
  EXPECT_EQ(array.type, msgpack::type::ARRAY);
  EXPECT_LT(i, array.via.array.size);
  return array.via.array.ptr[i];
}

TEST(ZmqEventPublisher, SubscriberDecodesEveryFieldInOrder) {
  zmq::context_t context(1);
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, "kv@");
  sub.set(zmq::sockopt::linger, 0);
  sub.bind("tcp://127.0.0.1:0");
  const std::string endpoint = sub.get(zmq::sockopt::last_endpoint);

  // A named host: the publisher connects, as vLLM does for tcp://host:port.
  auto created = ZmqEventPublisher::create(config_for(endpoint));
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  ZmqEventPublisher& publisher = **created;
  EXPECT_EQ(publisher.endpoint(), endpoint);
  const uint64_t first = wait_until_connected(publisher, sub);

  BlockStoredEvent gpu;
  gpu.block_hashes = {0x1111, 0xfedcba9876543210ull};
  gpu.parent_block_hash = 0x42;
  gpu.token_ids = {1, 2, 151643, 0};
  gpu.block_size = 2;
  gpu.medium = "GPU";
  publisher.block_stored(gpu);
  publisher.block_removed({{0x1111}, "CPU"});
  publisher.flush();
  publisher.flush();  // nothing new: no batch
  BlockStoredEvent cpu;
  cpu.block_hashes = {0x2222};
  cpu.block_size = 16;
  cpu.medium = "CPU";
  publisher.block_stored(cpu);
  publisher.all_blocks_cleared();
  publisher.flush();

  auto a = receive(sub, 5000);
  auto b = receive(sub, 5000);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0].to_string(), "kv@pod-1@qwen3");
  EXPECT_EQ(b[0].to_string(), "kv@pod-1@qwen3");
  EXPECT_EQ(seq_of(a[1]), first + 1);
  EXPECT_EQ(seq_of(b[1]), first + 2);

  msgpack::object_handle ha = msgpack::unpack(static_cast<const char*>(a[2].data()), a[2].size());
  const msgpack::object& batch = ha.get();
  ASSERT_EQ(batch.via.array.size, 3u);
  EXPECT_EQ(at(batch, 0).type, msgpack::type::FLOAT64);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(at(batch, 0).as<double>(), now, 60.0);
  EXPECT_EQ(at(batch, 2).as<int>(), 0);  // data_parallel_rank
  const msgpack::object& events = at(batch, 1);
  ASSERT_EQ(events.via.array.size, 2u);
  const msgpack::object& stored = at(events, 0);
  ASSERT_EQ(stored.via.array.size, 8u);
  EXPECT_EQ(at(stored, 0).as<std::string>(), "BlockStored");
  EXPECT_EQ(at(stored, 1).as<std::vector<uint64_t>>(), gpu.block_hashes);
  EXPECT_EQ(at(stored, 2).as<uint64_t>(), 0x42u);
  EXPECT_EQ(at(stored, 3).as<std::vector<int32_t>>(), gpu.token_ids);
  EXPECT_EQ(at(stored, 4).as<int>(), 2);
  EXPECT_TRUE(at(stored, 5).is_nil());  // lora_id
  EXPECT_EQ(at(stored, 6).as<std::string>(), "GPU");
  EXPECT_TRUE(at(stored, 7).is_nil());  // lora_name
  const msgpack::object& removed = at(events, 1);
  ASSERT_EQ(removed.via.array.size, 3u);
  EXPECT_EQ(at(removed, 0).as<std::string>(), "BlockRemoved");
  EXPECT_EQ(at(removed, 1).as<std::vector<uint64_t>>(), std::vector<uint64_t>{0x1111});
  EXPECT_EQ(at(removed, 2).as<std::string>(), "CPU");

  msgpack::object_handle hb = msgpack::unpack(static_cast<const char*>(b[2].data()), b[2].size());
  const msgpack::object& events_b = at(hb.get(), 1);
  ASSERT_EQ(events_b.via.array.size, 2u);
  const msgpack::object& cpu_stored = at(events_b, 0);
  EXPECT_EQ(at(cpu_stored, 1).as<std::vector<uint64_t>>(), std::vector<uint64_t>{0x2222});
  EXPECT_TRUE(at(cpu_stored, 2).is_nil());  // no parent
  EXPECT_EQ(at(cpu_stored, 3).via.array.size, 0u);
  EXPECT_EQ(at(cpu_stored, 4).as<int>(), 16);
  EXPECT_EQ(at(cpu_stored, 6).as<std::string>(), "CPU");
  const msgpack::object& cleared = at(events_b, 1);
  ASSERT_EQ(cleared.via.array.size, 1u);
  EXPECT_EQ(at(cleared, 0).as<std::string>(), "AllBlocksCleared");

  EXPECT_EQ(receive(sub, 50).size(), 0u);  // the empty flush sent nothing
}

TEST(ZmqEventPublisher, ReplaysBufferedBatchesFromSequenceZero) {
  KvEventsConfig config = config_for("tcp://127.0.0.1:0", "");
  config.replay_endpoint = "tcp://127.0.0.1:0";
  config.buffer_steps = 2;
  auto created = ZmqEventPublisher::create(config);
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  ZmqEventPublisher& publisher = **created;
  ASSERT_TRUE(publisher.replay_endpoint().has_value());
  EXPECT_NE(publisher.endpoint().find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(publisher.endpoint().find(":0"), std::string::npos);  // the real port

  // Nobody subscribes: the batches are only buffered, the oldest falling out after two.
  for (uint64_t i = 0; i < 3; ++i) {
    publisher.block_removed({{100 + i}, "GPU"});
    publisher.flush();
  }
  for (int i = 0; i < 500 && publisher.stats().batches_published < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(publisher.stats().batches_published, 3u);
  EXPECT_EQ(publisher.stats().events_published, 3u);

  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(*publisher.replay_endpoint());
  const std::array<char, 8> zero{};
  std::array<zmq::const_buffer, 2> request = {zmq::const_buffer(), zmq::buffer(zero)};
  zmq::send_multipart(dealer, request);

  std::vector<uint64_t> seqs;
  for (;;) {
    auto frames = receive(dealer, 5000);
    ASSERT_EQ(frames.size(), 3u);  // empty delimiter, seq, payload
    EXPECT_EQ(frames[0].size(), 0u);
    const uint64_t seq = seq_of(frames[1]);
    if (seq == ~uint64_t(0)) {
      EXPECT_EQ(frames[2].size(), 0u);
      break;
    }
    seqs.push_back(seq);
    msgpack::object_handle h =
        msgpack::unpack(static_cast<const char*>(frames[2].data()), frames[2].size());
    const msgpack::object& removed = at(at(h.get(), 1), 0);
    EXPECT_EQ(at(removed, 1).as<std::vector<uint64_t>>(), std::vector<uint64_t>{100 + seq});
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2}));  // 0 fell out of the two-batch buffer
  EXPECT_GE(publisher.stats().replay_requests, 1u);
}

TEST(ZmqEventPublisher, ReplaysMoreBatchesThanZmqsDefaultHighWaterMark) {
  KvEventsConfig config = config_for("tcp://127.0.0.1:0", "");
  config.replay_endpoint = "tcp://127.0.0.1:0";
  constexpr uint64_t kBatches = 2500;  // ZMQ's default send HWM is 1000 messages
  auto created = ZmqEventPublisher::create(config);
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  ZmqEventPublisher& publisher = **created;
  for (uint64_t i = 0; i < kBatches; ++i) {
    publisher.all_blocks_cleared();
    publisher.flush();
  }
  for (int i = 0; i < 1000 && publisher.stats().batches_published < kBatches; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(publisher.stats().batches_published, kBatches);
  EXPECT_EQ(publisher.stats().batches_dropped, 0u);

  zmq::context_t context(1);
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(*publisher.replay_endpoint());
  const std::array<char, 8> zero{};
  std::array<zmq::const_buffer, 2> request = {zmq::const_buffer(), zmq::buffer(zero)};
  zmq::send_multipart(dealer, request);
  uint64_t expected = 0;
  for (;;) {
    auto frames = receive(dealer, 5000);
    ASSERT_EQ(frames.size(), 3u) << "after " << expected << " batches";
    const uint64_t seq = seq_of(frames[1]);
    if (seq == ~uint64_t(0)) break;
    ASSERT_EQ(seq, expected);
    ++expected;
  }
  EXPECT_EQ(expected, kBatches);
}

TEST(ZmqEventPublisher, BadOrBusyAddressesFailNamingThem) {
  auto bad = ZmqEventPublisher::create(config_for("tcp://*:99999"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("tcp://*:99999"), std::string::npos)
      << bad.error().message();

  zmq::context_t context(1);
  zmq::socket_t holder(context, zmq::socket_type::pub);
  holder.set(zmq::sockopt::linger, 0);
  holder.bind("tcp://127.0.0.1:0");
  std::string taken = holder.get(zmq::sockopt::last_endpoint);
  // Bind the publisher to the taken port through the wildcard form it binds.
  const std::string port = taken.substr(taken.rfind(':'));
  auto busy = ZmqEventPublisher::create(config_for("tcp://*" + port));
  ASSERT_FALSE(busy.has_value());
  EXPECT_NE(busy.error().message().find("endpoint"), std::string::npos) << busy.error().message();
}

TEST(EventPublisherFactory, OffNullAndErrors) {
  auto off = create_event_publisher("");
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(*off, nullptr);
  auto disabled = create_event_publisher(R"({"enable_kv_cache_events":false,"publisher":"zmq"})");
  ASSERT_TRUE(disabled.has_value());
  EXPECT_EQ(*disabled, nullptr);

  auto null_sink = create_event_publisher(R"({"enable_kv_cache_events":true,"publisher":"null"})");
  ASSERT_TRUE(null_sink.has_value());
  ASSERT_NE(*null_sink, nullptr);
  (*null_sink)->all_blocks_cleared();
  (*null_sink)->flush();
  auto* null_publisher = dynamic_cast<NullEventPublisher*>(null_sink->get());
  ASSERT_NE(null_publisher, nullptr);
  EXPECT_EQ(null_publisher->events(), 1u);

  auto zmq_sink =
      create_event_publisher(R"({"enable_kv_cache_events":true,"endpoint":"tcp://127.0.0.1:0"})");
  ASSERT_TRUE(zmq_sink.has_value()) << zmq_sink.error().to_string();
  EXPECT_NE(dynamic_cast<ZmqEventPublisher*>(zmq_sink->get()), nullptr);

  auto bad = create_event_publisher(R"({"enable_kv_cache_events":true,"hwm":"lots"})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("hwm"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::kv
