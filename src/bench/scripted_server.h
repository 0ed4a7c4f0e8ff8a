#pragma once
// A deterministic OpenAI-compatible server for testing and measuring the load generator: it
// streams tokens on a script (delay to the first token, gap between tokens, usage numbers),
// records every request body, and holds thousands of streams on a few threads.
// Routes: GET /health, GET /v1/models, POST /v1/chat/completions, POST /v1/completions.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace kvtier::bench {

struct ScriptedReply {
  int status = 200;  // anything else answers with `error_body`
  std::string error_body = R"({"error":{"message":"scripted failure","type":"server_error"}})";
  double ttft_s = 0.0;         // from the request's arrival to the first token
  double itl_s = 0.0;          // between token chunks
  int64_t output_tokens = 16;  // replaced by the body's max_tokens / max_completion_tokens
  int64_t prompt_tokens = 0;   // reported in usage
  int64_t cached_tokens = 0;   // usage.prompt_tokens_details.cached_tokens
  int tokens_per_chunk = 1;
  int64_t error_after_tokens = -1;  // >= 0: an error chunk replaces the rest of the stream
  bool send_role_chunk = true;      // chat: an empty-content chunk with the role comes first
};

struct ScriptedServerOptions {
  int threads = 1;
  std::string model_id = "scripted-model";
  // Decides each completion request's reply; `index` counts completion requests from 0.
  // Default: ScriptedReply{} with prompt_tokens = the number of words in the prompt.
  std::function<ScriptedReply(const nlohmann::json& body, int64_t index)> script;
};

class ScriptedServer {
 public:
  // Listens on 127.0.0.1 at a free port.
  static Expected<std::unique_ptr<ScriptedServer>> start(ScriptedServerOptions options);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  int port() const;
  std::string url() const;
  // Bodies of the completion requests, in arrival order.
  std::vector<nlohmann::json> bodies() const;
  int64_t completion_requests() const;
  int64_t peak_open_streams() const;
  // CPU time (user + system) of the server's threads so far.
  double cpu_seconds() const;

  // Words of the prompt text (chat: all message contents), the default prompt_tokens.
  static int64_t count_prompt_words(const nlohmann::json& body);

 private:
  struct Impl;
  explicit ScriptedServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvtier::bench
