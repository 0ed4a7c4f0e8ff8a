#pragma once
// The OpenAI-compatible API as vLLM serves it: routes a request to its handler and answers
// through the exchange's Responder. Handlers are transport-free: the HTTP server, the tests and
// the benchmark drive the same code.
//
// Threads: handle() runs on the connection's executor; parsing and tokenization go to the
// offload function (a worker pool) and come back to the executor through Responder::post().
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>


#include "engine/engine_client.h"
#include "server/api_request.h"
#include "server/http_message.h"
#include "server/metrics_text.h"
#include "server/request_chat_template.h"
#include "server/request_metrics.h"
#include "server/text_codec.h"

namespace kvtier::server {

struct ApiConfig {
  std::vector<std::string> served_model_names;  // the first is the one responses report
  std::string model_root;                       // /v1/models "root": the model folder
  std::string api_key;                          // empty: no authentication
  bool enable_prompt_tokens_details = false;
  bool log_requests = false;
  int32_t max_log_len = 0;                      // 0: prompts are logged whole
  bool enable_server_load_tracking = false;     // GET /load counts requests (else reports 0)
  bool trust_request_chat_template = false;     // chat requests may bring their own template
  Labels cache_config;                          // vllm:cache_config_info labels
  SamplingDefaults sampling_defaults;           // from generation_config.json
  std::string version = "0.1.0";
};

// What the server answers while the engine loads: 503 for every route, /health included (so
// orchestrators wait), in the OpenAI error shape.
RequestHandler starting_handler();

class Api {
 public:
  // Runs a task off the I/O threads; false when it cannot be queued (overload).
  using Offload = std::function<bool(std::function<void()>)>;

  Api(engine::EngineClient& engine, std::shared_ptr<const TextCodec> codec, ApiConfig config,
      Offload offload);
  ~Api();

  void handle(HttpRequest request, std::shared_ptr<Responder> responder);

  // From now on generation requests get 503 and /health reports unavailable; requests already
  // accepted run to completion.
  void begin_drain() { draining_ = true; }
  bool draining() const { return draining_; }
  // Generation requests accepted and not yet finished (including those being tokenized).
  int64_t in_flight() const { return in_flight_->load(); }

  RequestMetrics& metrics() { return metrics_; }
  const std::string& model_name() const { return config_.served_model_names.front(); }
  void set_connection_counter(std::function<int64_t()> counter) {
    connection_counter_ = std::move(counter);
  }
  std::string metrics_text() const;

 private:
  enum class Kind { kCompletion, kChat };

  void start_generation(Kind kind, HttpRequest request, std::shared_ptr<Responder> responder);
  void prepare_generation(Kind kind, const HttpRequest& request,
                          const std::shared_ptr<Responder>& responder,
                          std::shared_ptr<void> ticket);
  void offload_json(HttpRequest request, std::shared_ptr<Responder> responder,
                    std::function<HttpResponse(const nlohmann::ordered_json&)> handler);
  HttpResponse tokenize(const nlohmann::ordered_json& body) const;
  HttpResponse detokenize(const nlohmann::ordered_json& body) const;
  HttpResponse models() const;
  bool authorized(const HttpRequest& request) const;
  Status check_model(const std::optional<std::string>& model) const;
  std::string new_id(const char* prefix);

  engine::EngineClient& engine_;
  std::shared_ptr<const TextCodec> codec_;
  ApiConfig config_;
  Offload offload_;
  RequestMetrics metrics_;
  RequestTemplateCache request_templates_;
  std::atomic<bool> draining_{false};
  // Shared with the tickets, which may outlive the Api by a few handler runs.
  std::shared_ptr<std::atomic<int64_t>> in_flight_;
  std::function<int64_t()> connection_counter_;
  int64_t started_at_;
};

}  // namespace kvtier::server
