#pragma once
// One request as the load generator saw it. Times are seconds on the Unix scale but read from
// the monotonic clock (BenchClock), so differences are exact and never jump.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace kvtier::bench {

enum class RequestStatus { kSuccessful, kIncomplete, kErrored };
const char* request_status_name(RequestStatus status);
// Index of a status in per-status arrays: successful, incomplete, errored.
constexpr size_t kNumRequestStatuses = 3;
constexpr size_t request_status_index(RequestStatus status) { return size_t(status); }

struct RequestRecord {
  std::string request_id;
  std::string response_id;
  int64_t conversation_index = 0;
  int turn_index = 0;
  RequestStatus status = RequestStatus::kErrored;

  double scheduled_time = 0;            // when the strategy wanted it sent
  double dispatch_time = 0;             // handed to the client (GuideLLM's resolve_start)
  double finalize_time = 0;             // the runner took its result (GuideLLM's finalized)
  std::optional<double> request_start;  // just before the request's bytes were written
  std::optional<double> first_token;    // first chunk with non-empty text
  std::optional<double> last_token;     // last chunk with non-empty text
  std::optional<double> request_end;    // [DONE], end of body, cancel or error
  int token_iterations = 0;             // chunks that carried text
  int request_iterations = 0;           // SSE data events

  // From the server's usage (the last one seen, so continuous usage counts for cut streams).
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> output_tokens;
  std::optional<int64_t> cached_tokens;  // usage.prompt_tokens_details.cached_tokens
  // Of the generated text, counted before it is dropped (GuideLLM's output text_words: split
  // on whitespace; text_characters: code points). None when nothing was generated.
  std::optional<int64_t> output_words, output_characters;

  std::string error;
  std::string output;        // generated text (cleared for unsampled requests)
  std::string request_args;  // the JSON body sent (cleared for unsampled requests)
  bool keep_details = true;  // false: request_args is not kept and output is dropped once read

  // GuideLLM's per-request metrics; nullopt where GuideLLM has None.
  std::optional<double> latency() const;
  std::optional<double> time_to_first_token_ms() const;
  std::optional<double> inter_token_latency_ms() const;
  std::optional<double> time_per_output_token_ms() const;
  // vLLM's benchmark_serving style: mean gap between text chunks.
  std::optional<double> inter_chunk_latency_ms() const;
  // Start and end as GuideLLM reads them (request times, never absent for finished records).
  double start_time() const;
  double end_time() const;
  int64_t total_tokens() const;
  // Output tokens: usage when the server sent it, else one per text chunk.
  std::optional<int64_t> output_token_count() const;
  // GuideLLM's per-request fields: output tokens / text chunks, and (output - 1) / (chunks - 1)
  // (the first chunk taken as one token); none without tokens or (the latter) with one chunk.
  std::optional<double> output_tokens_per_iteration() const;
  std::optional<double> iter_tokens_per_iteration() const;
  // Sets output_words and output_characters from `output`.
  void count_output_text();
};

}  // namespace kvtier::bench
