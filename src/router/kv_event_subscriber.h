#pragma once
// Follows engines' KV event streams over ZMQ (vLLM's wire format: multipart [topic, 8-byte
// big-endian sequence, msgpack batch]) and applies them to a KvBlockIndex. One thread polls
// every socket. An address with '*' or '::' is bound (engines connect to the router, llm-d's
// "global socket" mode) and the topic tells which endpoint sent each message; other addresses
// are connected to, one per endpoint.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "router/kv_block_index.h"

namespace kvtier::router {

struct KvEventSource {
  std::string address;            // "tcp://host:5557", "tcp://*:5557", "ipc://..."
  std::optional<size_t> endpoint;  // nullopt: resolved per message from its topic
};

struct KvEventCounters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> decode_errors{0};
  std::atomic<uint64_t> unknown_topics{0};
  std::atomic<uint64_t> sequence_gaps{0};
  std::atomic<uint64_t> restarts{0};  // a publisher's sequence started over: its index was cleared
};

class KvEventSubscriber {
 public:
  // Maps a topic to an endpoint index (global-socket mode).
  using TopicResolver = std::function<std::optional<size_t>(std::string_view topic)>;

  static Expected<std::unique_ptr<KvEventSubscriber>> start(std::vector<KvEventSource> sources,
                                                            std::string topic_filter,
                                                            TopicResolver resolver,
                                                            KvBlockIndex& index);
  ~KvEventSubscriber();
  KvEventSubscriber(const KvEventSubscriber&) = delete;
  KvEventSubscriber& operator=(const KvEventSubscriber&) = delete;

  const KvEventCounters& counters() const { return counters_; }

 private:
  struct Impl;
  explicit KvEventSubscriber(std::unique_ptr<Impl> impl);
  void run();

  std::unique_ptr<Impl> impl_;
  KvEventCounters counters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace kvtier::router
