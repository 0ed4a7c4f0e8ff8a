#pragma once
// Helpers for the load generator's tests: hand-made conversations and one-shot calls.
#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "bench/conversation_source.h"
#include "bench/stream_client.h"
#include "bench/token_codec.h"
#include "common/paths.h"

namespace kvtier::bench::testing {

// Conversation i: prefix "shared prefix words" (when `prefix`), turn t asks "question i t".
inline ConversationSource::Generator numbered_conversations(int turns, int64_t output_tokens,
                                                            bool prefix = true) {
  auto counter = std::make_shared<int64_t>(0);
  return [=]() -> Expected<ConversationSpec> {
    ConversationSpec c;
    c.index = (*counter)++;
    c.prefix = std::make_shared<const std::string>(prefix ? "shared prefix words" : "");
    c.prefix_tokens = prefix ? 3 : 0;
    for (int t = 0; t < turns; ++t) {
      c.turns.push_back({fmt::format("question {} {}", c.index, t), 3, output_tokens});
    }
    return c;
  };
}

// The bundled Qwen3 tokenizer, loaded once per test binary.
inline std::shared_ptr<const TokenCodec> qwen3() {
  static auto codec = std::move(load_token_codec(default_tokenizer_dir())).value();
  return codec;
}

// An empty folder under the system's temp folder, unique to this test process.
inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kvtier_bench_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Sends one call and waits for its record.
inline RequestRecord call_once(StreamClient& client, std::unique_ptr<StreamCall> call) {
  auto promise = std::make_shared<std::promise<RequestRecord>>();
  auto future = promise->get_future();
  call->done = [promise](RequestRecord&& r) { promise->set_value(std::move(r)); };
  client.submit(0, std::move(call));
  return future.get();
}

inline std::unique_ptr<StreamCall> chat_call(int64_t max_tokens, bool stream = true) {
  auto call = std::make_unique<StreamCall>();
  call->route = "/v1/chat/completions";
  call->stream = stream;
  call->body = fmt::format(
      R"({{"model":"m","messages":[{{"role":"user","content":"hello there"}}],"stream":{},)"
      R"("stream_options":{{"include_usage":true,"continuous_usage_stats":true}},)"
      R"("max_completion_tokens":{}}})",
      stream ? "true" : "false", max_tokens);
  return call;
}

}  // namespace kvtier::bench::testing
