#pragma once
// An inference endpoint as the router knows it: its address ("ip:port", the form llm-d returns in
// x-gateway-destination-endpoint) and the load it last reported on /metrics.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kvtier::router {

// Kubernetes-style labels of an endpoint ("llm-d.ai/role" -> "decode"), what llm-d reads from
// a pod's metadata; label filters select endpoints by them.
using EndpointLabels = std::map<std::string, std::string, std::less<>>;

struct EndpointAddress {
  std::string host;
  uint16_t port = 0;
  EndpointLabels labels;

  std::string id() const;  // "host:port"
  // Accepts "http://host:port", "host:port" and "http://[::1]:port"; a path ("/") is allowed
  // and ignored. "https" is refused (the router speaks plain HTTP to engines). Labels follow as
  // a query: "http://host:port?llm-d.ai/role=decode&zone=a" (keys and values as Kubernetes
  // label syntax has them; no comma, so a comma-separated --endpoint list still splits).
  static Expected<EndpointAddress> parse(std::string_view url);
};

// The vLLM gauges the scorers use, summed over the series an endpoint exposes (one per model
// and engine).
struct EndpointMetrics {
  double waiting = 0;            // vllm:num_requests_waiting
  double running = 0;            // vllm:num_requests_running
  double kv_usage = 0;           // vllm:kv_cache_usage_perc, a fraction in [0, 1]
  std::optional<int32_t> block_size;       // vllm:cache_config_info{block_size}
  std::optional<int64_t> num_gpu_blocks;   // vllm:cache_config_info{num_gpu_blocks}
  std::optional<std::string> hash_algo;    // vllm:cache_config_info{prefix_caching_hash_algo}
  // kvtier engines only: kv::BlockHasher::fingerprint(), which differs when the seed does.
  std::optional<uint64_t> hash_fingerprint;
};

// One candidate endpoint, as a scheduling cycle sees it (a copy taken per request).
struct EndpointView {
  size_t index = 0;    // position in the router's endpoint list, stable for its lifetime
  std::string id;      // "host:port"
  EndpointMetrics metrics;
};

}  // namespace kvtier::router
