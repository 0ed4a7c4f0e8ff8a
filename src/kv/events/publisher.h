#pragma once
// Publishes KV events as vLLM does, from --kv-events-config JSON:
// {"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://*:5557","topic":"..."}.
#include <memory>
#include <string>

#include "common/status.h"
#include "kv/events.h"

namespace kvtier::kv {

// Returns nullptr (and no error) when events are not enabled. Errors name the offending key.
Expected<std::unique_ptr<KvEventSink>> create_event_publisher(const std::string& kv_events_config);

}  // namespace kvtier::kv
