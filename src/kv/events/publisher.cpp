#include "kv/events/publisher.h"

#include "kv/events/events_config.h"
#include "kv/events/zmq_publisher.h"

namespace kvtier::kv {

Expected<std::unique_ptr<KvEventSink>> create_event_publisher(const std::string& kv_events_config) {
  KVTIER_ASSIGN_OR_RETURN(KvEventsConfig config, parse_kv_events_config(kv_events_config));
  if (!config.enable_kv_cache_events) return std::unique_ptr<KvEventSink>();
  if (config.publisher == "null")
    return std::unique_ptr<KvEventSink>(std::make_unique<NullEventPublisher>());
  KVTIER_ASSIGN_OR_RETURN(std::unique_ptr<ZmqEventPublisher> publisher,
                          ZmqEventPublisher::create(config));
  return std::unique_ptr<KvEventSink>(std::move(publisher));
}

}  // namespace kvtier::kv
