#include "bench/metrics.h"

#include <algorithm>
#include <array>
#include <functional>

#include "bench/modality_metrics.h"

namespace kvtier::bench {
namespace {

using Requests = std::vector<const RequestRecord*>;
using Split = std::array<Requests, kNumRequestStatuses>;

// GuideLLM replaces a metric a request lacks with 0 (one weight) when summarizing it.
StatusDistribution summarize_by_status(
    const Split& split, const std::function<void(const RequestRecord&, WeightedValues&)>& f) {
  std::array<WeightedValues, 3> values;
  WeightedValues total;
  for (size_t s = 0; s < 3; ++s) {
    for (const auto* r : split[s]) f(*r, values[s]);
    total.insert(total.end(), values[s].begin(), values[s].end());
  }
  StatusDistribution d;
  d.successful = summarize_values(std::move(values[0]));
  d.incomplete = summarize_values(std::move(values[1]));
  d.errored = summarize_values(std::move(values[2]));
  d.total = summarize_values(std::move(total));
  return d;
}

StatusDistribution rates_by_status(
    const Split& split, const std::function<void(const RequestRecord&, WeightedValues&)>& f,
    std::optional<double> start, std::optional<double> end) {
  std::array<WeightedValues, 3> events;
  WeightedValues total;
  for (size_t s = 0; s < 3; ++s) {
    for (const auto* r : split[s]) f(*r, events[s]);
    total.insert(total.end(), events[s].begin(), events[s].end());
  }
  StatusDistribution d;
  d.successful = rate_distribution(std::move(events[0]), start, end);
  d.incomplete = rate_distribution(std::move(events[1]), start, end);
  d.errored = rate_distribution(std::move(events[2]), start, end);
  d.total = rate_distribution(std::move(total), start, end);
  return d;
}

// Output tokens over time: the first token at its chunk, the rest spread evenly over the
// remaining chunks up to the last token (GuideLLM's output_tokens_timings).
void output_token_events(const RequestRecord& r, WeightedValues& out) {
  const double outputs = static_cast<double>(r.output_token_count().value_or(0));
  if (!r.first_token || !r.last_token || r.token_iterations <= 1) {
    out.emplace_back(r.last_token ? *r.last_token : r.end_time(), outputs);
    return;
  }
  out.emplace_back(*r.first_token, outputs > 0 ? 1.0 : 0.0);
  if (outputs <= 1) return;
  const int n = r.token_iterations;
  const double per_iteration = (outputs - 1.0) / (n - 1.0);
  const double step = (*r.last_token - *r.first_token) / (n - 1.0);
  for (int i = 1; i < n; ++i) {
    const double t = i == n - 1 ? *r.last_token : *r.first_token + step * i;
    out.emplace_back(t, per_iteration);
  }
}

void prompt_token_event(const RequestRecord& r, WeightedValues& out) {
  out.emplace_back(r.first_token ? *r.first_token : r.end_time(),
                   static_cast<double>(r.prompt_tokens.value_or(0)));
}

StatusDistribution concurrency_by_status(const Split& split, double start, double end) {
  std::array<std::vector<Interval>, 3> intervals;
  std::vector<Interval> total;
  for (size_t s = 0; s < 3; ++s) {
    for (const auto* r : split[s]) {
      if (!r->request_start || !r->request_end) continue;
      intervals[s].push_back({*r->request_start, *r->request_end, 1.0});
    }
    total.insert(total.end(), intervals[s].begin(), intervals[s].end());
  }
  StatusDistribution d;
  d.successful = concurrency_distribution(std::move(intervals[0]), start, end);
  d.incomplete = concurrency_distribution(std::move(intervals[1]), start, end);
  d.errored = concurrency_distribution(std::move(intervals[2]), start, end);
  d.total = concurrency_distribution(std::move(total), start, end);
  return d;
}

}  // namespace

MeasureWindow measure_window(const std::vector<RequestRecord>& records, double request_start,
                             double request_end, const PhaseSpec& warmup, const PhaseSpec& cooldown,
                             std::optional<double> max_seconds,
                             std::optional<int64_t> max_requests) {
  MeasureWindow w{request_start, request_start, request_end, request_end};
  auto [warm_s, warm_n] = warmup.limits(max_requests, max_seconds);
  auto [cool_s, cool_n] = cooldown.limits(max_requests, max_seconds);

  std::vector<double> starts, ends;
  for (const auto& r : records) {
    starts.push_back(r.start_time());
    ends.push_back(r.end_time());
  }
  std::sort(starts.begin(), starts.end());
  std::sort(ends.begin(), ends.end());

  std::optional<double> by_time, by_count;
  if (warm_s) by_time = request_start + *warm_s;
  if (warm_n && *warm_n > 0 && static_cast<size_t>(*warm_n) < starts.size()) {
    by_count = starts[static_cast<size_t>(*warm_n)];
  }
  if (by_time && by_count)
    w.measure_start = std::max(*by_time, *by_count);
  else if (by_time)
    w.measure_start = *by_time;
  else if (by_count)
    w.measure_start = *by_count;

  by_time.reset();
  by_count.reset();
  if (cool_s && max_seconds) by_time = request_start + *max_seconds - *cool_s;
  if (cool_n && *cool_n > 0 && max_requests && *max_requests > *cool_n) {
    const auto index = static_cast<size_t>(*max_requests - *cool_n - 1);
    if (index < ends.size()) by_count = ends[index];
  }
  if (by_time && by_count)
    w.measure_end = std::min(*by_time, *by_count);
  else if (by_time)
    w.measure_end = *by_time;
  else if (by_count)
    w.measure_end = *by_count;
  w.measure_end =
      std::clamp(w.measure_end, w.measure_start, std::max(request_end, w.measure_start));
  return w;
}

std::vector<const RequestRecord*> requests_in_window(const std::vector<RequestRecord>& records,
                                                     const MeasureWindow& window) {
  std::vector<const RequestRecord*> in;
  for (const auto& r : records) {
    if (r.end_time() >= window.measure_start && r.start_time() <= window.measure_end) {
      in.push_back(&r);
    }
  }
  return in;
}

BenchmarkMetrics compile_metrics(const std::vector<const RequestRecord*>& requests,
                                 const MeasureWindow& window) {
  Split split;
  for (const auto* r : requests) split[request_status_index(r->status)].push_back(r);
  BenchmarkMetrics m;
  m.successful = static_cast<int64_t>(split[0].size());
  m.incomplete = static_cast<int64_t>(split[1].size());
  m.errored = static_cast<int64_t>(split[2].size());

  const double start = window.measure_start;
  const double end = window.measure_end;
  m.requests_per_second = rates_by_status(
      split, [](const RequestRecord& r, WeightedValues& v) { v.emplace_back(r.end_time(), 1.0); },
      start, end);
  m.request_concurrency = concurrency_by_status(split, start, end);
  m.request_latency = summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
    v.emplace_back(r.latency().value_or(0.0), 1.0);
  });
  m.request_streaming_iterations_count = summarize_by_status(
      split,
      [](const RequestRecord& r, WeightedValues& v) { v.emplace_back(r.request_iterations, 1.0); });
  m.prompt_token_count = summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
    v.emplace_back(static_cast<double>(r.prompt_tokens.value_or(0)), 1.0);
  });
  m.output_token_count = summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
    v.emplace_back(static_cast<double>(r.output_token_count().value_or(0)), 1.0);
  });
  m.total_token_count = summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
    v.emplace_back(static_cast<double>(r.total_tokens()), 1.0);
  });
  m.time_to_first_token_ms =
      summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
        v.emplace_back(r.time_to_first_token_ms().value_or(0.0), 1.0);
      });
  m.time_per_output_token_ms =
      summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
        v.emplace_back(r.time_per_output_token_ms().value_or(0.0),
                       static_cast<double>(r.output_token_count().value_or(0)));
      });
  m.inter_token_latency_ms =
      summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
        const int64_t outputs = r.output_token_count().value_or(0);
        v.emplace_back(r.inter_token_latency_ms().value_or(0.0),
                       static_cast<double>(outputs > 0 ? outputs : 1) - 1.0);
      });
  m.inter_chunk_latency_ms =
      summarize_by_status(split, [](const RequestRecord& r, WeightedValues& v) {
        if (auto itl = r.inter_chunk_latency_ms()) {
          v.emplace_back(*itl, static_cast<double>(r.token_iterations - 1));
        }
      });
  m.prompt_tokens_per_second =
      rates_by_status(split, prompt_token_event, std::nullopt, std::nullopt);
  m.output_tokens_per_second =
      rates_by_status(split, output_token_events, std::nullopt, std::nullopt);
  m.tokens_per_second = rates_by_status(
      split,
      [](const RequestRecord& r, WeightedValues& v) {
        prompt_token_event(r, v);
        output_token_events(r, v);
      },
      std::nullopt, std::nullopt);
  m.output_tokens_per_iteration = bench::output_tokens_per_iteration(split);
  m.iter_tokens_per_iteration = bench::iter_tokens_per_iteration(split);
  m.modalities = modality_metrics_json(split);
  return m;
}

nlohmann::json BenchmarkMetrics::to_json() const {
  return {
      {"request_totals",
       {{"successful", successful},
        {"incomplete", incomplete},
        {"errored", errored},
        {"total", successful + incomplete + errored}}},
      {"requests_per_second", bench::to_json(requests_per_second)},
      {"request_concurrency", bench::to_json(request_concurrency)},
      {"request_latency", bench::to_json(request_latency)},
      {"request_streaming_iterations_count", bench::to_json(request_streaming_iterations_count)},
      {"prompt_token_count", bench::to_json(prompt_token_count)},
      {"output_token_count", bench::to_json(output_token_count)},
      {"total_token_count", bench::to_json(total_token_count)},
      {"time_to_first_token_ms", bench::to_json(time_to_first_token_ms)},
      {"time_per_output_token_ms", bench::to_json(time_per_output_token_ms)},
      {"inter_token_latency_ms", bench::to_json(inter_token_latency_ms)},
      {"prompt_tokens_per_second", bench::to_json(prompt_tokens_per_second)},
      {"output_tokens_per_second", bench::to_json(output_tokens_per_second)},
      {"tokens_per_second", bench::to_json(tokens_per_second)},
      {"inter_chunk_latency_ms", bench::to_json(inter_chunk_latency_ms)},
      {"output_tokens_per_iteration", bench::to_json(output_tokens_per_iteration)},
      {"iter_tokens_per_iteration", bench::to_json(iter_tokens_per_iteration)},
      {"text", modalities.value("text", nlohmann::json(nullptr))},
      {"image", modalities.value("image", nlohmann::json(nullptr))},
      {"video", modalities.value("video", nlohmann::json(nullptr))},
      {"audio", modalities.value("audio", nlohmann::json(nullptr))}};
}

}  // namespace kvtier::bench
