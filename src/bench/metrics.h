#pragma once
// A benchmark's statistics as GuideLLM defines them. Per request: latency = end - start;
// TTFT = first text chunk - start; ITL = (last - first token) / (output tokens - 1);
// TPOT = (last token - start) / output tokens. Aggregates weight TTFT and latency once per
// request, ITL by output - 1 and TPOT by output tokens. Rates are distributions over time.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "bench/phase.h"
#include "bench/request_record.h"
#include "bench/statistics.h"

namespace kvtier::bench {

// The benchmark's timeline; requests overlapping [measure_start, measure_end] are measured.
struct MeasureWindow {
  double request_start = 0;  // the first request was due
  double measure_start = 0;  // after warmup
  double measure_end = 0;    // before cooldown
  double request_end = 0;    // the deadline, or the last request's end
};

// Warmup and cooldown as GuideLLM applies them: by duration from the start/end, or by request
// count (the start of request k+1, the end of the request before the last k).
MeasureWindow measure_window(const std::vector<RequestRecord>& records, double request_start,
                             double request_end, const PhaseSpec& warmup, const PhaseSpec& cooldown,
                             std::optional<double> max_seconds,
                             std::optional<int64_t> max_requests);

// The requests of `records` that overlap the window.
std::vector<const RequestRecord*> requests_in_window(const std::vector<RequestRecord>& records,
                                                     const MeasureWindow& window);

struct BenchmarkMetrics {
  int64_t successful = 0, incomplete = 0, errored = 0;
  StatusDistribution requests_per_second;
  StatusDistribution request_concurrency;
  StatusDistribution request_latency;
  StatusDistribution request_streaming_iterations_count;
  StatusDistribution prompt_token_count;
  StatusDistribution output_token_count;
  StatusDistribution total_token_count;
  StatusDistribution time_to_first_token_ms;
  StatusDistribution time_per_output_token_ms;
  StatusDistribution inter_token_latency_ms;
  StatusDistribution prompt_tokens_per_second;
  StatusDistribution output_tokens_per_second;
  StatusDistribution tokens_per_second;
  // vLLM benchmark_serving's ITL: gaps between text chunks, weighted by their number.
  StatusDistribution inter_chunk_latency_ms;
  StatusDistribution output_tokens_per_iteration;
  StatusDistribution iter_tokens_per_iteration;
  // GuideLLM's text / image / video / audio summaries (modality_metrics.h).
  nlohmann::json modalities = nlohmann::json::object();

  nlohmann::json to_json() const;
};

BenchmarkMetrics compile_metrics(const std::vector<const RequestRecord*>& requests,
                                 const MeasureWindow& window);

}  // namespace kvtier::bench
