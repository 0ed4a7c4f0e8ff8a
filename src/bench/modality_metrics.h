#pragma once
// GuideLLM's per-modality summaries (metrics.text / image / video / audio) and its
// per-iteration token distributions, from the measured requests. Each modality property
// (text: tokens, words, characters) is a GenerativeMetricsSummary: input, output and total
// values per request, as rates over time (each request's value at its end) and as concurrency
// (the value held from its start to its end). A side without values is null, as in GuideLLM.
#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/request_record.h"
#include "bench/statistics.h"

namespace kvtier::bench {

// Measured requests split by status: successful, incomplete, errored.
using StatusSplit = std::array<std::vector<const RequestRecord*>, kNumRequestStatuses>;

// {"text": {...}, "image": {...}, "video": {...}, "audio": {...}}: text from token counts
// (prompt from usage, output from usage) and from the output's words and characters (prompt
// text is not kept, so its side is null); image, video and audio are all null (text only).
nlohmann::json modality_metrics_json(const StatusSplit& split);

// GuideLLM's output_tokens_per_iteration: per request, the first text chunk as one token and
// each later chunk (output - 1) / (chunks - 1); one value of all tokens without chunk timings.
StatusDistribution output_tokens_per_iteration(const StatusSplit& split);
// The same without the first chunk (iter_tokens_per_iteration).
StatusDistribution iter_tokens_per_iteration(const StatusSplit& split);

}  // namespace kvtier::bench
