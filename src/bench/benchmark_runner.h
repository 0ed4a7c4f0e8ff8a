#pragma once
// Runs one benchmark: sends conversations' turns as the strategy dictates (closed loop: a
// finished request starts the next; open loop: on a timetable), stops at --max-seconds or
// --max-requests, and returns every request's record. Requests cut at the deadline are
// incomplete; their tokens still count.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/conversation_source.h"
#include "bench/interrupt.h"
#include "bench/request_body.h"
#include "bench/request_record.h"
#include "bench/strategy.h"
#include "bench/stream_client.h"
#include "common/status.h"

namespace kvtier::bench {

// A benchmark whose first this-many requests all fail stops: the server or route is wrong, and
// a closed loop would otherwise spin through errors for the whole --max-seconds.
constexpr int64_t kFailFastRequests = 50;

// --max-error-rate looks at this many most recent finished requests, and only once this many
// finished (GuideLLM's constraint_error_window_size setting, default 30).
constexpr size_t kErrorRateWindow = 30;

struct RunLimits {
  std::optional<double> max_seconds;
  std::optional<int64_t> max_requests;
  std::optional<int64_t> max_errors;
  std::optional<double> max_error_rate;  // in (0, 1), over the last kErrorRateWindow requests
};

struct RunOptions {
  BodyOptions body;
  int64_t benchmark_index = 0;             // names requests "<benchmark>-<conversation>-<turn>"
  std::optional<int64_t> sample_requests;  // none: keep every request's body and output
  uint64_t seed = 42;                      // for choosing the sampled requests
  // Nonzero (a signal's number) stops the benchmark as a deadline would: no new requests, the
  // ones in flight cancelled (incomplete). Read every kProgressPeriodS at most; may be null.
  const InterruptFlag* interrupt = nullptr;
};

struct ProgressSnapshot {
  double elapsed = 0;
  int64_t successful = 0, incomplete = 0, errored = 0, in_flight = 0;
  int64_t output_tokens = 0;
};
using ProgressFn = std::function<void(const ProgressSnapshot&)>;

struct BenchmarkRun {
  Strategy strategy;
  std::vector<RequestRecord> records;  // every request that was sent, in completion order
  // Per status (successful, incomplete, errored): indices of the requests kept in full when
  // --sample-requests is set; none: all of them.
  std::optional<std::array<std::vector<size_t>, 3>> samples;
  // Set when the first kFailFastRequests requests all failed (the benchmark stopped early).
  std::optional<std::string> all_failed;
  double start_time = 0;  // the benchmark's start (its first request was due then)
  double end_time = 0;    // the deadline when it was cut, else the last request's end
  std::string stop_reason;
  // The limit that stopped it, named as GuideLLM names its constraints: max_seconds,
  // max_requests, max_errors, max_error_rate; else "interrupt" or "all_failed".
  std::string stop_constraint;
  double end_queuing_time = 0;     // no new request could start from then on
  double end_processing_time = 0;  // the last request finished (or was cut)
  int64_t created_requests = 0;    // conversations' turns made, sent or not
  int interrupted_by = 0;          // the signal that stopped it (RunOptions::interrupt), else 0
  int64_t peak_in_flight = 0;
  double client_cpu_seconds = 0;  // CPU time of the client's network threads during the run
};

Expected<BenchmarkRun> run_benchmark(StreamClient& client, ConversationSource& source,
                                     const Strategy& strategy, const RunLimits& limits,
                                     const RunOptions& options, const ProgressFn& progress);

}  // namespace kvtier::bench
