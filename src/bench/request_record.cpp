#include "bench/request_record.h"

namespace kvtier::bench {

const char* request_status_name(RequestStatus status) {
  switch (status) {
    case RequestStatus::kSuccessful:
      return "successful";
    case RequestStatus::kIncomplete:
      return "incomplete";
    case RequestStatus::kErrored:
      return "errored";
  }
  return "errored";
}

std::optional<double> RequestRecord::latency() const {
  if (!request_start || !request_end) return std::nullopt;
  return *request_end - *request_start;
}

std::optional<double> RequestRecord::time_to_first_token_ms() const {
  if (!first_token || !request_start) return std::nullopt;
  return 1000.0 * (*first_token - *request_start);
}

std::optional<double> RequestRecord::inter_token_latency_ms() const {
  auto outputs = output_token_count();
  if (!first_token || !last_token || !outputs || *outputs <= 1) return std::nullopt;
  return 1000.0 * (*last_token - *first_token) / static_cast<double>(*outputs - 1);
}

std::optional<double> RequestRecord::time_per_output_token_ms() const {
  auto outputs = output_token_count();
  if (!request_start || !outputs || *outputs == 0) return std::nullopt;
  const double last = last_token ? *last_token : end_time();
  return 1000.0 * (last - *request_start) / static_cast<double>(*outputs);
}

std::optional<double> RequestRecord::inter_chunk_latency_ms() const {
  if (!first_token || !last_token || token_iterations <= 1) return std::nullopt;
  return 1000.0 * (*last_token - *first_token) / static_cast<double>(token_iterations - 1);
}

double RequestRecord::start_time() const { return request_start ? *request_start : scheduled_time; }

double RequestRecord::end_time() const { return request_end ? *request_end : start_time(); }

std::optional<int64_t> RequestRecord::output_token_count() const {
  if (output_tokens) return output_tokens;
  if (token_iterations > 0) return token_iterations;
  return std::nullopt;
}

std::optional<double> RequestRecord::output_tokens_per_iteration() const {
  const auto outputs = output_token_count();
  if (!outputs || token_iterations < 1) return std::nullopt;
  return static_cast<double>(*outputs) / token_iterations;
}

std::optional<double> RequestRecord::iter_tokens_per_iteration() const {
  const auto outputs = output_token_count();
  if (!outputs || *outputs <= 1 || token_iterations <= 1) return std::nullopt;
  // The first chunk is taken as one token (it follows the prefill).
  return static_cast<double>(*outputs - 1) / (token_iterations - 1);
}

void RequestRecord::count_output_text() {
  if (output.empty()) return;
  int64_t words = 0, characters = 0;
  bool in_word = false;
  for (const char ch : output) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) ++characters;  // not a UTF-8 continuation byte
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  output_words = words;
  output_characters = characters;
}

int64_t RequestRecord::total_tokens() const {
  return prompt_tokens.value_or(0) + output_token_count().value_or(0);
}

}  // namespace kvtier::bench
