#include "server/metrics_text.h"

#include <cmath>

#include <fmt/format.h>

#include "kv/connector.h"

namespace kvtier::server {

std::string prometheus_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e16) return fmt::format("{:.1f}", value);
  return fmt::format("{}", value);
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {

void append_labels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += escape_label_value(labels[i].second);
    out += '"';
  }
  out += '}';
}

}  // namespace

void PrometheusWriter::family(const std::string& name, const char* type, const std::string& help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusWriter::sample(const std::string& name, const Labels& labels, double value) {
  out_ += name;
  append_labels(out_, labels);
  out_ += ' ';
  out_ += prometheus_number(value);
  out_ += '\n';
}

void PrometheusWriter::histogram(const std::string& name, const Labels& labels,
                                 const HistogramSnapshot& h) {
  uint64_t cumulative = 0;
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    with_le.back().second =
        i < h.bounds.size() ? prometheus_number(h.bounds[i]) : std::string("+Inf");
    sample(name + "_bucket", with_le, double(cumulative));
  }
  sample(name + "_count", labels, double(h.count));
  sample(name + "_sum", labels, h.sum);
}

std::string render_metrics(const MetricsContext& c) {
  PrometheusWriter w;
  const Labels base = {{"model_name", c.model_name}, {"engine", "0"}};
  const engine::EngineStats& s = c.stats;

  auto gauge = [&](const std::string& name, const std::string& help, double value) {
    w.family(name, "gauge", help);
    w.sample(name, base, value);
  };
  auto counter = [&](const std::string& name, const std::string& help, double value) {
    w.family(name, "counter", help);
    w.sample(name + "_total", base, value);
  };
  auto histogram = [&](const std::string& name, const std::string& help,
                       const HistogramSnapshot& h) {
    w.family(name, "histogram", help);
    w.histogram(name, base, h);
  };

  gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
        s.num_requests_running);
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
        s.num_requests_waiting);
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
        s.kv_cache_usage);
  counter("vllm:prefix_cache_queries",
          "Prefix cache queries, in terms of number of queried tokens.",
          double(s.prefix_cache_queries));
  counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
          double(s.prefix_cache_hits));
  counter("vllm:external_prefix_cache_queries",
          "External prefix cache queries from KV connector cross-instance cache sharing, in "
          "terms of number of queried tokens.",
          double(s.external_prefix_cache_queries));
  counter("vllm:external_prefix_cache_hits",
          "External prefix cache hits from KV connector cross-instance cache sharing, in terms "
          "of number of cached tokens.",
          double(s.external_prefix_cache_hits));
  counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
          double(s.num_preemptions));
  counter("vllm:prompt_tokens", "Number of prefill tokens processed.", double(s.prompt_tokens));
  counter("vllm:generation_tokens", "Number of generation tokens processed.",
          double(s.generation_tokens));

  w.family("vllm:request_success", "counter", "Count of successfully processed requests.");
  const char* reasons[] = {"stop", "length", "abort", "error"};
  for (size_t i = 0; i < 4; ++i) {
    Labels labels = base;
    labels.emplace_back("finished_reason", reasons[i]);
    w.sample("vllm:request_success_total", labels, double(c.requests.success[i]));
  }

  const RequestMetrics::Snapshot& r = c.requests;
  histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", r.prompt_tokens);
  histogram("vllm:request_generation_tokens", "Number of generation tokens processed.",
            r.generation_tokens);
  HistogramSnapshot iteration = s.iteration_tokens;
  if (iteration.bounds.empty()) {
    iteration.bounds = iteration_tokens_buckets();
    iteration.counts.assign(iteration.bounds.size() + 1, 0);
  }
  histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
            iteration);
  // vLLM observes each finished request's largest generation over its n samples; with n = 1
  // (the only n served) that is the request's generation tokens, the same observations as
  // vllm:request_generation_tokens (vllm/v1/engine/parallel_sampling.py).
  histogram("vllm:request_max_num_generation_tokens",
            "Histogram of maximum number of requested generation tokens.", r.generation_tokens);
  histogram("vllm:request_params_n", "Histogram of the n request parameter.", r.params_n);
  histogram("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.",
            r.max_tokens_param);
  histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            r.ttft);
  // vLLM 0.11's deprecated name for the inter-token latency, observed with every inter-token
  // gap alongside it (vllm/v1/metrics/loggers.py; hidden from 0.12).
  histogram("vllm:time_per_output_token_seconds",
            "Histogram of time per output token in seconds."
            "DEPRECATED: Use vllm:inter_token_latency_seconds instead.",
            r.inter_token);
  histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            r.inter_token);
  histogram("vllm:request_time_per_output_token_seconds",
            "Histogram of time_per_output_token_seconds per request.", r.time_per_output_token);
  histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
            r.e2e);
  histogram("vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.", r.queue);
  histogram("vllm:request_inference_time_seconds",
            "Histogram of time spent in RUNNING phase for request.", r.inference);
  histogram("vllm:request_prefill_time_seconds",
            "Histogram of time spent in PREFILL phase for request.", r.prefill);
  histogram("vllm:request_decode_time_seconds",
            "Histogram of time spent in DECODE phase for request.", r.decode);

  w.family("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
  Labels info = c.cache_config;
  info.emplace_back("engine", "0");
  w.sample("vllm:cache_config_info", info, 1.0);

  // The offload connector's transfer counters, by direction.
  w.family("vllm:kv_offload_total_bytes", "counter", "Number of bytes offloaded by KV connector");
  for (const char* type : {"CPU_to_GPU", "GPU_to_CPU"}) {
    Labels labels = base;
    labels.emplace_back("transfer_type", type);
    auto it = s.transfers.find(type);
    w.sample("vllm:kv_offload_total_bytes_total", labels,
             it == s.transfers.end() ? 0.0 : double(it->second.bytes));
  }
  w.family("vllm:kv_offload_total_time", "counter",
           "Total time measured by all KV offloading operations");
  for (const char* type : {"CPU_to_GPU", "GPU_to_CPU"}) {
    Labels labels = base;
    labels.emplace_back("transfer_type", type);
    auto it = s.transfers.find(type);
    w.sample("vllm:kv_offload_total_time_total", labels,
             it == s.transfers.end() ? 0.0 : it->second.seconds);
  }
  w.family("vllm:kv_offload_size", "histogram", "Histogram of KV offload transfer size, in bytes.");
  for (const char* type : {"CPU_to_GPU", "GPU_to_CPU"}) {
    Labels labels = base;
    labels.emplace_back("transfer_type", type);
    auto it = s.transfers.find(type);
    const bool recorded = it != s.transfers.end() && !it->second.sizes.bounds.empty();
    w.histogram("vllm:kv_offload_size", labels,
                recorded ? it->second.sizes : empty_histogram(kv::kv_offload_size_buckets()));
  }
  w.family("kvtier:kv_offload_transfers", "counter",
           "Completed KV offload transfers (one per block copy batch), by direction.");
  for (const char* type : {"CPU_to_GPU", "GPU_to_CPU"}) {
    Labels labels = base;
    labels.emplace_back("transfer_type", type);
    auto it = s.transfers.find(type);
    w.sample("kvtier:kv_offload_transfers_total", labels,
             it == s.transfers.end() ? 0.0 : double(it->second.count));
  }
  w.family("kvtier:kv_offload_failed_transfers", "counter",
           "Failed KV offload transfers (block copy batches), by direction. A failed store's "
           "blocks never become CPU hits; a failed load's tokens are recomputed.");
  for (const char* type : {"CPU_to_GPU", "GPU_to_CPU"}) {
    Labels labels = base;
    labels.emplace_back("transfer_type", type);
    auto it = s.transfers.find(type);
    w.sample("kvtier:kv_offload_failed_transfers_total", labels,
             it == s.transfers.end() ? 0.0 : double(it->second.failed));
  }

  gauge("kvtier:cpu_cache_usage_perc",
        "CPU-tier KV cache usage (blocks holding data). 1 means 100 percent usage.",
        s.cpu_cache_usage);
  gauge("kvtier:num_requests_loading",
        "Requests waiting for KV blocks being loaded from the CPU tier (also counted in "
        "vllm:num_requests_waiting).",
        s.num_requests_loading);
  counter("kvtier:engine_steps", "Engine steps executed.", double(s.num_steps));
  gauge("kvtier:http_requests_in_flight",
        "Generation requests accepted by the HTTP server and not yet answered.",
        double(c.requests_in_flight));
  gauge("kvtier:http_connections", "Open HTTP connections.", double(c.http_connections));
  return w.take();
}

}  // namespace kvtier::server
