#include "kv/events/events_config.h"

#include <limits>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kvtier::kv {
namespace {

using nlohmann::json;
constexpr std::string_view kFlag = "--kv-events-config";

Expected<std::string> string_value(const json& value, std::string_view key) {
  if (!value.is_string())
    return invalid_argument("{}: {} must be a string, got {}", kFlag, key, value.dump());
  return value.get<std::string>();
}

Expected<int32_t> int_value(const json& value, std::string_view key, int64_t min) {
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT32_MAX)) ||
      value.get<int64_t>() < min || value.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
    return invalid_argument("{}: {} must be an integer in [{}, {}], got {}", kFlag, key, min,
                            std::numeric_limits<int32_t>::max(), value.dump());
  }
  return int32_t(value.get<int64_t>());
}

}  // namespace

Status check_zmq_endpoint(const std::string& endpoint, std::string_view key) {
  const auto bad = [&] {
    return invalid_argument(
        "{}: {} must be a ZMQ address (tcp://host:port with port 0-65535, ipc://path or "
        "inproc://name), got \"{}\"",
        kFlag, key, endpoint);
  };
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) {
    return endpoint.size() > endpoint.find("//") + 2 ? Status::ok() : bad();
  }
  if (!endpoint.starts_with("tcp://")) return bad();
  // libzmq reads ports modulo 65536, so tcp://*:99999 would quietly bind port 34463.
  const auto colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon < 6 || colon + 1 == endpoint.size()) return bad();
  const std::string_view port = std::string_view(endpoint).substr(colon + 1);
  if (port == "*") return Status::ok();
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return bad();
  return std::stoi(std::string(port)) <= 65535 ? Status::ok() : bad();
}

Expected<KvEventsConfig> parse_kv_events_config(const std::string& json_text) {
  KvEventsConfig config;
  if (json_text.find_first_not_of(" \t\r\n") == std::string::npos) {
    config.publisher = "null";
    return config;
  }
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return invalid_argument("{} is not valid JSON: {}", kFlag, e.what());
  }
  if (!root.is_object())
    return invalid_argument("{} must be a JSON object, got {}", kFlag, root.dump());
  bool publisher_given = false;
  for (const auto& [key, value] : root.items()) {
    if (key == "enable_kv_cache_events") {
      if (!value.is_boolean()) {
        return invalid_argument("{}: enable_kv_cache_events must be true or false, got {}", kFlag,
                                value.dump());
      }
      config.enable_kv_cache_events = value.get<bool>();
    } else if (key == "publisher") {
      if (value.is_null()) continue;
      KVTIER_ASSIGN_OR_RETURN(config.publisher, string_value(value, key));
      if (config.publisher != "zmq" && config.publisher != "null") {
        return invalid_argument("{}: publisher must be \"zmq\" or \"null\", got \"{}\"", kFlag,
                                config.publisher);
      }
      publisher_given = true;
    } else if (key == "endpoint") {
      KVTIER_ASSIGN_OR_RETURN(config.endpoint, string_value(value, key));
      KVTIER_RETURN_IF_ERROR(check_zmq_endpoint(config.endpoint, key));
    } else if (key == "replay_endpoint") {
      if (value.is_null()) continue;
      KVTIER_ASSIGN_OR_RETURN(std::string replay, string_value(value, key));
      KVTIER_RETURN_IF_ERROR(check_zmq_endpoint(replay, key));
      config.replay_endpoint = std::move(replay);
    } else if (key == "buffer_steps") {
      KVTIER_ASSIGN_OR_RETURN(config.buffer_steps, int_value(value, key, 0));
    } else if (key == "hwm") {
      KVTIER_ASSIGN_OR_RETURN(config.hwm, int_value(value, key, 0));
    } else if (key == "max_queue_size") {
      KVTIER_ASSIGN_OR_RETURN(config.max_queue_size, int_value(value, key, 1));
    } else if (key == "topic") {
      KVTIER_ASSIGN_OR_RETURN(config.topic, string_value(value, key));
    } else if (key == "snapshot_endpoint") {
      if (!value.is_null()) {
        return make_error(ErrorCode::kUnimplemented, "{}: snapshot_endpoint is not supported",
                          kFlag);
      }
    } else {
      return invalid_argument(
          "{}: unknown key {} (known: enable_kv_cache_events, publisher, endpoint, "
          "replay_endpoint, buffer_steps, "
          "hwm, max_queue_size, topic)",
          kFlag, key);
    }
  }
  if (!publisher_given) config.publisher = config.enable_kv_cache_events ? "zmq" : "null";
  return config;
}

}  // namespace kvtier::kv
