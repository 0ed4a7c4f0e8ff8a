#pragma once
// One accepted generation request, from engine submission to its last byte. It turns engine
// deltas into SSE events or the final JSON body, records the request's metrics, and aborts the
// engine request the moment the client goes away (so its KV blocks are freed at once).
//
// Threads: the engine calls the sink on its own thread; the sink only stamps the time and posts
// the delta to the connection's executor, where every other method runs.
#include <cstdint>
#include <memory>
#include <string>

#include "engine/engine_client.h"
#include "server/http_message.h"
#include "server/request_metrics.h"
#include "server/response_builder.h"

namespace kvtier::server {

class GenerationCall : public std::enable_shared_from_this<GenerationCall> {
 public:
  GenerationCall(engine::EngineClient& engine, std::shared_ptr<Responder> responder,
                 std::unique_ptr<ResponseBuilder> builder, RequestMetrics& metrics, bool stream,
                 int32_t max_tokens_param, std::shared_ptr<void> in_flight_ticket);

  const std::string& id() const { return builder_->meta().id; }

  // The engine's OutputSink for this call.
  engine::OutputSink sink();
  // On the executor: submits to the engine and, if accepted, opens the response.
  void submit(engine::GenerationRequest request);
  // On the executor: one delta from the engine, stamped when the engine handed it over.
  void on_output(engine::RequestOutput out, engine::Clock::time_point received);
  // On the executor: the client disconnected (or stopped reading).
  void client_gone();

 private:
  void write(std::string data);
  void finish(const engine::RequestOutput& out, engine::Clock::time_point received);

  engine::EngineClient& engine_;
  std::shared_ptr<Responder> responder_;
  std::unique_ptr<ResponseBuilder> builder_;
  RequestMetrics& metrics_;
  const bool stream_;
  const int32_t max_tokens_param_;
  std::shared_ptr<void> ticket_;  // counts this call as in flight until it is destroyed

  bool submitted_ = false;
  bool done_ = false;
  bool client_gone_ = false;
  engine::Clock::time_point submitted_at_{};
  engine::Clock::time_point last_token_at_{};
  int64_t tokens_seen_ = 0;
};

}  // namespace kvtier::server
