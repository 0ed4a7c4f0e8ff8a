// A /v1/completions or /v1/chat/completions request body as `kvtier serve` handles it before
// tokenizing: parse_json_body, then both request parsers, then prompt truncation and fitting
// max_tokens into a small context. Invariants: a rejected body becomes an OpenAI-style error
// whose JSON parses, with a 4xx/5xx status; an accepted one never asks for more tokens than
// the context holds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "server/api_error.h"
#include "server/api_request.h"
#include "server/json_fields.h"

namespace {

using namespace kvtier;
using namespace kvtier::server;

constexpr int64_t kMaxModelLen = 64;

void check_rejection(const Status& status) {
  FUZZ_CHECK(!status.message().empty(), "an error names what is wrong");
  ApiError error = api_error_from(status);
  FUZZ_CHECK(error.status >= 400 && error.status < 600, "an error status");
  auto body = nlohmann::json::parse(error_json(error), nullptr, false);
  FUZZ_CHECK(!body.is_discarded() && body.contains("error"), "an error body in JSON");
}

// What api_generation does with a parsed request once it has prompt ids.
void fit(GenerateOptions& options, std::vector<int32_t> prompt_ids) {
  auto cut = truncate_prompt(options, kMaxModelLen, prompt_ids);
  if (!cut) return check_rejection(cut.error());
  Status s = fit_to_context(options, int64_t(prompt_ids.size()), kMaxModelLen, 16);
  if (!s) return check_rejection(s);
  FUZZ_CHECK(options.sampling.max_tokens >= 1, "at least one token to generate");
  FUZZ_CHECK(int64_t(prompt_ids.size()) + options.sampling.max_tokens <= kMaxModelLen,
             "prompt and output fit the context");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto body = parse_json_body(text);
  if (!body) {
    check_rejection(body.error());
    return 0;
  }
  SamplingDefaults defaults;
  if (auto completion = parse_completion_request(*body, defaults); completion) {
    std::vector<int32_t> ids = completion->prompt_ids;
    if (completion->prompt_text) ids.assign(completion->prompt_text->size() % 80, 7);
    if (!ids.empty()) fit(completion->options, std::move(ids));
  } else {
    check_rejection(completion.error());
  }
  if (auto chat = parse_chat_request(*body, defaults); chat) {
    FUZZ_CHECK(chat->messages.is_array(), "messages is a list");
    fit(chat->options, std::vector<int32_t>(chat->messages.dump().size() % 80, 7));
  } else {
    check_rejection(chat.error());
  }
  return 0;
}
