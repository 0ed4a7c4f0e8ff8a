#include "bench/scheduler_summary.h"

#include <algorithm>
#include <functional>

namespace kvtier::bench {
namespace {

using Json = nlohmann::json;

// What the stopping constraint told the scheduler, in GuideLLM's SchedulerUpdateAction shape.
// A request-count limit lets requests in flight finish (stop_local); the others cut them.
Json stop_action(const BenchmarkRun& run) {
  const bool drains = run.stop_constraint == "max_requests";
  return {{"request_queuing", "stop"},
          {"request_processing", drains ? "stop_local" : "stop_all"},
          {"metadata", {{"reason", run.stop_reason}, {"stop_time", run.end_queuing_time}}},
          {"progress", Json::object()}};
}

// Mean of f over the requests that were sent; -1 when there are none (GuideLLM's "not set").
double average(const std::vector<RequestRecord>& records,
               const std::function<std::optional<double>(const RequestRecord&)>& f) {
  double sum = 0;
  int64_t n = 0;
  for (const auto& r : records) {
    if (auto v = f(r)) {
      sum += *v;
      ++n;
    }
  }
  return n > 0 ? sum / static_cast<double>(n) : -1.0;
}

}  // namespace

Json scheduler_state_json(const BenchmarkRun& run, int processes) {
  int64_t counts[3] = {0, 0, 0};
  for (const auto& r : run.records) ++counts[request_status_index(r.status)];
  const auto processed = static_cast<int64_t>(run.records.size());
  Json constraints = {{run.stop_constraint, stop_action(run)}};
  return {{"node_id", 0},
          {"num_processes", processes},
          {"start_time", run.start_time},
          {"end_time", run.end_processing_time},
          {"end_queuing_time", run.end_queuing_time},
          {"end_queuing_constraints", constraints},
          {"end_processing_time", run.end_processing_time},
          {"end_processing_constraints", constraints},
          {"scheduler_constraints", constraints},
          {"remaining_fraction", 0.0},
          {"remaining_requests", 0},
          {"remaining_duration", 0.0},
          {"created_requests", std::max(run.created_requests, processed)},
          {"queued_requests", processed},
          {"pending_requests", 0},
          {"processing_requests", 0},
          {"processed_requests", processed},
          {"successful_requests", counts[0]},
          {"errored_requests", counts[2]},
          {"cancelled_requests", counts[1]}};
}

Json scheduler_metrics_json(const BenchmarkRun& run, const MeasureWindow& w) {
  int64_t made[3] = {0, 0, 0};
  for (const auto& r : run.records) ++made[request_status_index(r.status)];
  using R = const RequestRecord&;
  using D = std::optional<double>;
  const auto& rs = run.records;
  auto sent = [](R r) { return r.request_start.has_value() && r.dispatch_time > 0; };
  const double queued = average(rs, [&](R r) -> D {
    if (!sent(r)) return std::nullopt;
    return std::max(0.0, r.dispatch_time - r.scheduled_time);
  });
  const double request_start_delay = average(rs, [&](R r) -> D {
    if (!sent(r)) return std::nullopt;
    return *r.request_start - r.dispatch_time;
  });
  const double request_targeted_delay = average(rs, [&](R r) -> D {
    if (!sent(r)) return std::nullopt;
    return *r.request_start - r.scheduled_time;
  });
  const double request_time = average(rs, [](R r) { return r.latency(); });
  const double resolve_time = average(rs, [&](R r) -> D {
    if (!sent(r)) return std::nullopt;
    return r.end_time() - r.dispatch_time;
  });
  const double finalized_delay = average(rs, [&](R r) -> D {
    if (!sent(r) || r.finalize_time <= 0) return std::nullopt;
    return std::max(0.0, r.finalize_time - r.end_time());
  });
  const double zero = rs.empty() ? -1.0 : 0.0;  // steps that coincide in kvtier's runner
  return {{"start_time", run.start_time},
          {"request_start_time", w.request_start},
          {"measure_start_time", w.measure_start},
          {"measure_end_time", w.measure_end},
          {"request_end_time", w.request_end},
          {"end_time", std::max(w.request_end, run.end_processing_time)},
          {"requests_made",
           {{"successful", made[0]},
            {"incomplete", made[1]},
            {"errored", made[2]},
            {"total", made[0] + made[1] + made[2]}}},
          {"queued_time_avg", queued},
          {"resolve_start_delay_avg", zero},
          {"resolve_targeted_start_delay_avg", queued},
          {"request_start_delay_avg", request_start_delay},
          {"request_targeted_start_delay_avg", request_targeted_delay},
          {"request_time_avg", request_time},
          {"resolve_end_delay_avg", zero},
          {"resolve_time_avg", resolve_time},
          {"finalized_delay_avg", finalized_delay},
          {"processed_delay_avg", zero}};
}

}  // namespace kvtier::bench
