#pragma once
// The engine counters a cell changed: /metrics read before and after the bench run (Prometheus
// text, vLLM's names), summed over the engines, after minus before. Only the counters the report
// needs are read, so a small reader does here; labels other than transfer_type are summed over.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvtier::eval {

// Counter totals keyed by name without the "vllm:" prefix and "_total" suffix, with
// "{transfer_type}" appended for the offload counters, e.g. "kv_offload_total_bytes{GPU_to_CPU}".
std::map<std::string, double> read_counters(std::string_view prometheus_text);

// cell.json's metrics_delta; null when no snapshot could be read on either side.
nlohmann::json metrics_delta(const std::vector<std::string>& before,
                             const std::vector<std::string>& after);

}  // namespace kvtier::eval
