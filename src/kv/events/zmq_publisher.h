#pragma once
// KvEventSink that publishes each step's events as vLLM's ZmqEventPublisher does: a PUB socket
// sending multipart [topic, 8-byte big-endian sequence number, msgpack KVEventBatch]
// (event_batch.h), and optionally a ROUTER socket for replay: a request
// [identity, "", start_seq (8 bytes big-endian)] gets [identity, "", seq, payload] for every
// buffered batch from start_seq on, then [identity, "", -1 (8 bytes), ""].
//
// Threading: block_stored / block_removed / all_blocks_cleared / flush run on the engine thread and
// never block: flush() numbers the step's batch and hands it to a bounded queue (a full queue
// drops the batch, counted, leaving a gap in the sequence numbers). A publisher thread encodes,
// sends, keeps the replay buffer and answers replay requests; it alone uses the sockets.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "kv/events.h"
#include "kv/events/event_batch.h"
#include "kv/events/events_config.h"

namespace kvtier::kv {

struct PublisherStats {
  uint64_t batches_published = 0;
  uint64_t batches_dropped = 0;  // the queue was full
  uint64_t events_published = 0;
  uint64_t replay_requests = 0;
};

class ZmqEventPublisher final : public KvEventSink {
 public:
  // Binds or connects the sockets now, so a bad or busy address fails here, naming it.
  static Expected<std::unique_ptr<ZmqEventPublisher>> create(const KvEventsConfig& config,
                                                             int32_t data_parallel_rank = 0);
  // Sends what is queued, then closes the sockets.
  ~ZmqEventPublisher() override;

  void block_stored(BlockStoredEvent event) override;
  void block_removed(BlockRemovedEvent event) override;
  void all_blocks_cleared() override;
  void flush() override;

  // The addresses in use, with an ephemeral port (":0") resolved.
  const std::string& endpoint() const;
  const std::optional<std::string>& replay_endpoint() const;
  PublisherStats stats() const;

  struct Impl;

 private:
  explicit ZmqEventPublisher(std::unique_ptr<Impl> impl, int32_t data_parallel_rank);

  std::unique_ptr<Impl> impl_;
  const int32_t data_parallel_rank_;
  std::vector<KvEvent> pending_;  // engine thread: events of the current step
  uint64_t next_seq_ = 0;         // engine thread
};

// Accepts events and discards them (publisher "null"), counting what it saw.
class NullEventPublisher final : public KvEventSink {
 public:
  void block_stored(BlockStoredEvent) override { ++events_; }
  void block_removed(BlockRemovedEvent) override { ++events_; }
  void all_blocks_cleared() override { ++events_; }
  void flush() override {}
  uint64_t events() const { return events_; }

 private:
  uint64_t events_ = 0;
};

}  // namespace kvtier::kv
