#pragma once
// `kvtier monitor import-bench`: a benchmarks.json (kvtier bench or GuideLLM) as PCP metrics at
// the times they happened, beside (or merged with) a monitor archive of the same run.
//   bench.level.*    per benchmark, at its end_time; instance "<index> <strategy>@<level>"
//                    (e.g. "0 concurrent@5"): requests_per_second, output_tokens_per_second,
//                    ttft.{mean,p50,p99} (ms), itl.{mean,p50,p99} (ms),
//                    latency.{mean,p50,p99} (s), successful (requests)
//   bench.request.*  per successful request, at its end time; instance its benchmark's:
//                    ttft (ms), itl (ms), latency (s), prompt_tokens, output_tokens
// Requests may be a sample of all (`--sample-requests`); only those in the file are imported.
#include <string>

#include "common/status.h"

namespace kvtier::monitor {

struct ImportStats {
  int levels = 0;
  int requests = 0;
  int records = 0;
};

Expected<ImportStats> import_bench(const std::string& benchmarks_json, const std::string& archive);

}  // namespace kvtier::monitor
