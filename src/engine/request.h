#pragma once
// What a client submits to the engine and what streams back. Shared by the engine, the server
// and the offline `generate` command.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kvtier::engine {

using Clock = std::chrono::steady_clock;

struct SamplingParams {
  float temperature = 1.0f;        // 0: greedy
  float top_p = 1.0f;
  int32_t top_k = 0;               // 0 or -1: disabled
  float min_p = 0.0f;
  std::optional<uint64_t> seed;    // per-request seed: same tokens whatever the batch
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  int32_t max_tokens = 16;
  int32_t min_tokens = 0;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool include_stop_str_in_output = false;
  std::optional<int32_t> logprobs;  // top logprobs per generated token; 0 = only the chosen one
  bool skip_special_tokens = true;
  // vLLM's allowed_token_ids: only these ids may be sampled. Empty: every id.
  std::vector<int32_t> allowed_token_ids;
  // vLLM's bad_words as token ids (the server tokenizes the words): the last id of each entry is
  // never sampled right after the output ends with the entry's other ids; a one-id entry is
  // never sampled at all.
  std::vector<std::vector<int32_t>> bad_words_token_ids;
};

enum class FinishReason { kStop, kLength, kAbort, kError };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "abort", "error"

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;  // highest first
};

struct RequestTimings {
  Clock::time_point arrival{};        // submit()
  Clock::time_point first_scheduled{};
  Clock::time_point first_token{};
  Clock::time_point finished{};
};

// One streamed delta. Counts are cumulative for the request.
struct RequestOutput {
  std::string request_id;
  std::vector<int32_t> token_ids;      // new tokens in this delta
  std::string text;                    // new complete text (stop strings already cut)
  std::vector<TokenLogprob> logprobs;  // one per new token when logprobs were asked for
  std::optional<FinishReason> finish_reason;
  std::optional<std::string> stop_reason;  // the stop string or stop token id that matched
  std::optional<int32_t> stop_token_id;    // set (with stop_reason its decimal text) when a
                                           // stop_token_ids entry matched
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  int32_t cached_tokens = 0;           // prompt tokens served from the GPU or CPU prefix cache
  Status error;                        // set (with finish kError) if the request failed
  RequestTimings timings;              // complete when finish_reason is set
};

// Called on the engine thread for every delta, the last one carrying finish_reason. Must not
// block: servers post the delta to the connection's strand, `generate` pushes to a queue.
using OutputSink = std::function<void(RequestOutput&&)>;

struct GenerationRequest {
  std::string request_id;
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  std::string cache_salt;              // mixed into the first block's hash
  // vLLM's priority: lower is served first under --scheduling-policy priority; any other value
  // than 0 is refused under fcfs.
  int64_t priority = 0;
  OutputSink sink;
};

}  // namespace kvtier::engine
