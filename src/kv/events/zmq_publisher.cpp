#include "kv/events/zmq_publisher.h"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "kv/events/bounded_queue.h"

namespace kvtier::kv {
namespace {

struct QueuedBatch {
  uint64_t seq = 0;
  KvEventBatch batch;
};

std::array<char, 8> big_endian(uint64_t v) {
  std::array<char, 8> out{};
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

// vLLM's rule, plus port 0: bind wildcard hosts, ipc and inproc; connect to named hosts.
bool should_bind(const std::string& endpoint) {
  return endpoint.find('*') != std::string::npos || endpoint.find("::") != std::string::npos ||
         endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://") ||
         endpoint.ends_with(":0");
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct ZmqEventPublisher::Impl {
  explicit Impl(const KvEventsConfig& c) : config(c), queue(size_t(c.max_queue_size)) {}

  Status open() {
    KVTIER_RETURN_IF_ERROR(check_zmq_endpoint(config.endpoint, "endpoint"));
    if (config.replay_endpoint)
      KVTIER_RETURN_IF_ERROR(check_zmq_endpoint(*config.replay_endpoint, "replay_endpoint"));
    try {
      pub = zmq::socket_t(context, zmq::socket_type::pub);
      pub.set(zmq::sockopt::sndhwm, config.hwm);
      pub.set(zmq::sockopt::linger, 500);
      if (config.endpoint.find('[') != std::string::npos ||
          config.endpoint.find("::") != std::string::npos) {
        pub.set(zmq::sockopt::ipv6, 1);
      }
      if (should_bind(config.endpoint)) {
        pub.bind(config.endpoint);
        endpoint = pub.get(zmq::sockopt::last_endpoint);
      } else {
        pub.connect(config.endpoint);
        endpoint = config.endpoint;
      }
    } catch (const zmq::error_t& e) {
      return make_error(ErrorCode::kUnavailable, "--kv-events-config: endpoint \"{}\": {}",
                        config.endpoint, e.what());
    }
    if (config.replay_endpoint) {
      try {
        replay = zmq::socket_t(context, zmq::socket_type::router);
        replay.set(zmq::sockopt::linger, 0);
        // A replay answers with up to buffer_steps messages at once; ROUTER drops past its HWM.
        replay.set(zmq::sockopt::sndhwm, 0);
        replay.bind(*config.replay_endpoint);
        replay_endpoint = replay.get(zmq::sockopt::last_endpoint);
      } catch (const zmq::error_t& e) {
        return make_error(ErrorCode::kUnavailable, "--kv-events-config: replay_endpoint \"{}\": {}",
                          *config.replay_endpoint, e.what());
      }
    }
    return Status::ok();
  }

  void run() {
    const auto wait = replay ? std::chrono::milliseconds(10) : std::chrono::milliseconds(100);
    for (;;) {
      std::optional<QueuedBatch> item = queue.pop_for(wait);
      if (item) send(*item);
      if (replay) serve_replay();
      if (!item && queue.closed_and_empty()) return;
    }
  }

  void send(const QueuedBatch& item) {
    std::string payload = encode_event_batch(item.batch);
    const auto seq = big_endian(item.seq);
    try {
      constexpr auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
      pub.send(zmq::buffer(config.topic), more);
      pub.send(zmq::buffer(seq), more);
      pub.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      spdlog::warn("kv events: sending batch {} failed: {}", item.seq, e.what());
    }
    published.fetch_add(1, std::memory_order_relaxed);
    events_published.fetch_add(item.batch.events.size(), std::memory_order_relaxed);
    if (config.buffer_steps > 0) {
      buffer.emplace_back(item.seq, std::move(payload));
      while (buffer.size() > size_t(config.buffer_steps)) buffer.pop_front();
    }
  }

  void serve_replay() {
    for (;;) {
      std::vector<zmq::message_t> frames;
      try {
        if (!zmq::recv_multipart(replay, std::back_inserter(frames), zmq::recv_flags::dontwait))
          return;
      } catch (const zmq::error_t& e) {
        spdlog::warn("kv events: replay receive failed: {}", e.what());
        return;
      }
      replay_requests.fetch_add(1, std::memory_order_relaxed);
      if (frames.size() != 3 || frames[2].size() != 8) {
        spdlog::warn(
            "kv events: ignoring a replay request of {} frames (want identity, empty, 8-byte seq)",
            frames.size());
        continue;
      }
      uint64_t start = 0;
      const auto* bytes = static_cast<const unsigned char*>(frames[2].data());
      for (int i = 0; i < 8; ++i) start = (start << 8) | bytes[i];
      const std::string identity = frames[0].to_string();
      try {
        for (const auto& [seq, payload] : buffer) {
          if (seq < start) continue;
          const auto seq_bytes = big_endian(seq);
          std::array<zmq::const_buffer, 4> reply = {zmq::buffer(identity), zmq::const_buffer(),
                                                    zmq::buffer(seq_bytes), zmq::buffer(payload)};
          zmq::send_multipart(replay, reply);
        }
        const auto end_seq = big_endian(~uint64_t(0));  // -1 as a signed 8-byte integer
        std::array<zmq::const_buffer, 4> end = {zmq::buffer(identity), zmq::const_buffer(),
                                                zmq::buffer(end_seq), zmq::const_buffer()};
        zmq::send_multipart(replay, end);
      } catch (const zmq::error_t& e) {
        spdlog::warn("kv events: replay send failed: {}", e.what());
      }
    }
  }

  const KvEventsConfig config;
  zmq::context_t context{1};
  zmq::socket_t pub, replay;  // publisher thread only, once it runs
  std::string endpoint;
  std::optional<std::string> replay_endpoint;
  BoundedQueue<QueuedBatch> queue;
  std::deque<std::pair<uint64_t, std::string>> buffer;  // publisher thread: batches for replay
  std::atomic<uint64_t> published{0}, events_published{0}, replay_requests{0};
  std::thread thread;
};

Expected<std::unique_ptr<ZmqEventPublisher>> ZmqEventPublisher::create(const KvEventsConfig& config,
                                                                       int32_t data_parallel_rank) {
  auto impl = std::make_unique<Impl>(config);
  KVTIER_RETURN_IF_ERROR(impl->open());
  // The sockets move to the publisher thread here; thread creation orders the handover.
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  spdlog::info("kv events: publishing on {} (topic \"{}\"){}", impl->endpoint, config.topic,
               impl->replay_endpoint ? ", replay on " + *impl->replay_endpoint : std::string());
  return std::unique_ptr<ZmqEventPublisher>(
      new ZmqEventPublisher(std::move(impl), data_parallel_rank));
}

ZmqEventPublisher::ZmqEventPublisher(std::unique_ptr<Impl> impl, int32_t data_parallel_rank)
    : impl_(std::move(impl)), data_parallel_rank_(data_parallel_rank) {}

ZmqEventPublisher::~ZmqEventPublisher() {
  impl_->queue.close();
  impl_->thread.join();
  impl_->pub.close();
  impl_->replay.close();
}

void ZmqEventPublisher::block_stored(BlockStoredEvent event) {
  pending_.emplace_back(std::move(event));
}
void ZmqEventPublisher::block_removed(BlockRemovedEvent event) {
  pending_.emplace_back(std::move(event));
}
void ZmqEventPublisher::all_blocks_cleared() { pending_.emplace_back(AllBlocksClearedEvent{}); }

void ZmqEventPublisher::flush() {
  if (pending_.empty()) return;
  QueuedBatch item{next_seq_++,
                   KvEventBatch{unix_seconds(), std::move(pending_), data_parallel_rank_}};
  pending_.clear();
  impl_->queue.try_push(std::move(item));
}

const std::string& ZmqEventPublisher::endpoint() const { return impl_->endpoint; }
const std::optional<std::string>& ZmqEventPublisher::replay_endpoint() const {
  return impl_->replay_endpoint;
}

PublisherStats ZmqEventPublisher::stats() const {
  return {impl_->published.load(std::memory_order_relaxed), impl_->queue.dropped(),
          impl_->events_published.load(std::memory_order_relaxed),
          impl_->replay_requests.load(std::memory_order_relaxed)};
}

}  // namespace kvtier::kv
