#include "router/kv_event_subscriber.h"

#include <map>

#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace kvtier::router {

struct KvEventSubscriber::Impl {
  zmq::context_t context{1};
  std::vector<zmq::socket_t> sockets;  // owned by the subscriber thread once it runs
  std::vector<KvEventSource> sources;
  TopicResolver resolver;
  KvBlockIndex* index = nullptr;
  // Last sequence number seen per (socket, endpoint): detects gaps and publisher restarts.
  std::map<std::pair<size_t, size_t>, uint64_t> last_seq;
};

Expected<std::unique_ptr<KvEventSubscriber>> KvEventSubscriber::start(
    std::vector<KvEventSource> sources, std::string topic_filter, TopicResolver resolver,
    KvBlockIndex& index) {
  auto impl = std::make_unique<Impl>();
  impl->resolver = std::move(resolver);
  impl->index = &index;
  for (const auto& source : sources) {
    try {
      zmq::socket_t socket(impl->context, zmq::socket_type::sub);
      socket.set(zmq::sockopt::subscribe, topic_filter);
      socket.set(zmq::sockopt::linger, 0);
      // Bind when the address is a wildcard (vLLM's convention for its own PUB socket).
      const bool bind = source.address.find('*') != std::string::npos ||
                        source.address.find("::") != std::string::npos;
      if (bind) {
        socket.bind(source.address);
      } else {
        socket.connect(source.address);
      }
      impl->sockets.push_back(std::move(socket));
    } catch (const zmq::error_t& e) {
      return invalid_argument("KV events address '{}': {}", source.address, e.what());
    }
  }
  impl->sources = std::move(sources);
  std::unique_ptr<KvEventSubscriber> subscriber(new KvEventSubscriber(std::move(impl)));
  subscriber->thread_ = std::thread([s = subscriber.get()] { s->run(); });
  return subscriber;
}

KvEventSubscriber::KvEventSubscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KvEventSubscriber::~KvEventSubscriber() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void KvEventSubscriber::run() {
  std::vector<zmq::pollitem_t> items;
  for (auto& socket : impl_->sockets) {
    items.push_back({socket.handle(), 0, ZMQ_POLLIN, 0});
  }
  std::vector<zmq::message_t> frames;
  while (!stop_) {
    try {
      zmq::poll(items, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::error("KV events: poll failed: {}", e.what());
      return;
    }
    for (size_t s = 0; s < items.size(); ++s) {
      if (!(items[s].revents & ZMQ_POLLIN)) continue;
      // Drain what is queued on this socket, a bounded number per round so one busy engine
      // cannot starve the others or the stop check.
      for (int n = 0; n < 256; ++n) {
        frames.clear();
        std::optional<size_t> got;
        try {
          got = zmq::recv_multipart(impl_->sockets[s], std::back_inserter(frames),
                                    zmq::recv_flags::dontwait);
        } catch (const zmq::error_t& e) {
          spdlog::warn("KV events: receive from '{}' failed: {}", impl_->sources[s].address,
                       e.what());
          break;
        }
        if (!got) break;
        if (frames.size() != 3 || frames[1].size() != 8) {
          counters_.decode_errors++;
          continue;
        }
        const std::string_view topic(static_cast<const char*>(frames[0].data()), frames[0].size());
        std::optional<size_t> endpoint = impl_->sources[s].endpoint;
        if (!endpoint) endpoint = impl_->resolver ? impl_->resolver(topic) : std::nullopt;
        if (!endpoint) {
          if (counters_.unknown_topics++ == 0) {
            spdlog::warn("KV events: topic '{}' on '{}' names no endpoint", topic,
                         impl_->sources[s].address);
          }
          continue;
        }
        uint64_t seq = 0;
        const auto* seq_bytes = static_cast<const unsigned char*>(frames[1].data());
        for (int i = 0; i < 8; ++i) seq = (seq << 8) | seq_bytes[i];
        auto [it, first] = impl_->last_seq.try_emplace({s, *endpoint}, seq);
        if (!first) {
          if (seq <= it->second) {
            // The publisher started over: the engine restarted and its cache is empty.
            counters_.restarts++;
            impl_->index->clear(*endpoint);
          } else if (seq != it->second + 1) {
            counters_.sequence_gaps++;
          }
          it->second = seq;
        }
        auto batch = decode_kv_event_batch(std::span<const uint8_t>(
            static_cast<const uint8_t*>(frames[2].data()), frames[2].size()));
        if (!batch) {
          if (counters_.decode_errors++ == 0) {
            spdlog::warn("KV events from '{}': {}", impl_->sources[s].address,
                         batch.error().message());
          }
          continue;
        }
        for (const auto& event : batch->events) impl_->index->apply(*endpoint, event);
        counters_.batches++;
        counters_.events += batch->events.size();
      }
    }
  }
}

}  // namespace kvtier::router
