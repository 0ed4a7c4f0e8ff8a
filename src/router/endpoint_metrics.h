#pragma once
// The scheduling inputs an endpoint reports on /metrics, read from vLLM's metric names.
#include <string_view>

#include "common/status.h"
#include "router/endpoint.h"

namespace kvtier::router {

// Queue gauges are summed over series (one per model and engine); KV usage is their mean.
// vllm:gpu_cache_usage_perc (older vLLM) stands in for vllm:kv_cache_usage_perc. An error when
// the text does not parse or has neither vllm:num_requests_waiting nor vllm:num_requests_running.
Expected<EndpointMetrics> parse_endpoint_metrics(std::string_view text);

}  // namespace kvtier::router
