#include "router/endpoint_metrics.h"

#include <charconv>
#include <cmath>

#include "common/prometheus_text.h"

namespace kvtier::router {
namespace {

template <typename T>
std::optional<T> parse_label_number(const std::string* text) {
  if (!text) return std::nullopt;
  T value{};
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || p != text->data() + text->size()) return std::nullopt;
  return value;
}

}  // namespace

Expected<EndpointMetrics> parse_endpoint_metrics(std::string_view text) {
  EndpointMetrics m;
  bool saw_queue = false;
  double usage_sum = 0, legacy_usage_sum = 0;
  int usage_series = 0, legacy_usage_series = 0;
  Status status = for_each_prometheus_sample(text, [&](const PrometheusSample& s) {
    if (!s.name.starts_with("vllm:") || std::isnan(s.value)) return;
    const std::string_view name = std::string_view(s.name).substr(5);
    if (name == "num_requests_waiting") {
      m.waiting += s.value;
      saw_queue = true;
    } else if (name == "num_requests_running") {
      m.running += s.value;
      saw_queue = true;
    } else if (name == "kv_cache_usage_perc") {
      usage_sum += s.value;
      ++usage_series;
    } else if (name == "gpu_cache_usage_perc") {
      legacy_usage_sum += s.value;
      ++legacy_usage_series;
    } else if (name == "cache_config_info") {
      if (auto bs = parse_label_number<int32_t>(s.label("block_size")); bs && *bs > 0) {
        m.block_size = bs;
      }
      if (auto nb = parse_label_number<int64_t>(s.label("num_gpu_blocks")); nb && *nb > 0) {
        m.num_gpu_blocks = nb;
      }
      if (const std::string* algo = s.label("prefix_caching_hash_algo"); algo && !algo->empty()) {
        m.hash_algo = *algo;
      }
      if (const std::string* fp = s.label("prefix_caching_hash_fingerprint"); fp) {
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(fp->data(), fp->data() + fp->size(), v, 16);
        if (ec == std::errc() && end == fp->data() + fp->size()) m.hash_fingerprint = v;
      }
    }
  });
  if (!status) return status;
  if (!saw_queue) {
    return not_found("no vllm:num_requests_waiting or vllm:num_requests_running in the metrics");
  }
  if (usage_series > 0) {
    m.kv_usage = usage_sum / usage_series;
  } else if (legacy_usage_series > 0) {
    m.kv_usage = legacy_usage_sum / legacy_usage_series;
  }
  return m;
}

}  // namespace kvtier::router
