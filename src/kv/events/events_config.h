#pragma once
// vLLM's --kv-events-config, e.g.
//   {"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://*:5557","topic":"kv@pod@model"}
// Keys and defaults follow vLLM's KVEventsConfig: enable_kv_cache_events false; publisher "zmq"
// when enabled ("null" discards); endpoint "tcp://*:5557" (bound when it names a wildcard host,
// ipc:// or inproc://, or port 0; connected otherwise); replay_endpoint none (a ROUTER socket
// that resends buffered batches); buffer_steps 10000 batches kept for replay; hwm 100000 (ZMQ
// send high-water mark); max_queue_size 100000 batches waiting for the publisher thread; topic "".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kvtier::kv {

struct KvEventsConfig {
  bool enable_kv_cache_events = false;
  std::string publisher = "zmq";  // "zmq" or "null"
  std::string endpoint = "tcp://*:5557";
  std::optional<std::string> replay_endpoint;
  int32_t buffer_steps = 10000;
  int32_t hwm = 100000;
  int32_t max_queue_size = 100000;
  std::string topic;
};

// An empty string gives the defaults (events off). Errors name the offending key.
Expected<KvEventsConfig> parse_kv_events_config(const std::string& json_text);

// tcp://host:port (port 0-65535 or *), ipc://path or inproc://name; errors name `key`.
Status check_zmq_endpoint(const std::string& endpoint, std::string_view key);

}  // namespace kvtier::kv
