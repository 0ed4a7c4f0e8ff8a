#pragma once
// GuideLLM's scheduler blocks of a benchmark: scheduler_state (what the scheduler did: request
// counts, when queuing and processing stopped and which constraint stopped them) and
// scheduler_metrics (the run's timeline and the *_avg delays along each request's path).
//
// kvtier's path for a request: due (targeted_start) -> handed to the client (dispatch: GuideLLM's
// dequeue, scheduled_at and resolve_start at once, since the runner has no separate queue)
// -> bytes written (request_start) -> response ended (request_end, also resolve_end) -> the
// runner took the result (finalized, also processed). Steps that coincide average 0.
#include <nlohmann/json.hpp>

#include "bench/benchmark_runner.h"
#include "bench/metrics.h"

namespace kvtier::bench {

// `processes`: the client's network threads (GuideLLM's num_processes).
nlohmann::json scheduler_state_json(const BenchmarkRun& run, int processes);
nlohmann::json scheduler_metrics_json(const BenchmarkRun& run, const MeasureWindow& window);

}  // namespace kvtier::bench
