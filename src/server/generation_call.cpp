#include "server/generation_call.h"

#include <spdlog/spdlog.h>

namespace kvtier::server {

using engine::Clock;

namespace {

double seconds_between(Clock::time_point from, Clock::time_point to) {
  if (from == Clock::time_point{} || to == Clock::time_point{} || to < from) return 0.0;
  return std::chrono::duration<double>(to - from).count();
}

// The engine's timestamp when it has one, else the server's own observation.
Clock::time_point either(Clock::time_point engine_time, Clock::time_point fallback) {
  return engine_time == Clock::time_point{} ? fallback : engine_time;
}

}  // namespace

GenerationCall::GenerationCall(engine::EngineClient& engine, std::shared_ptr<Responder> responder,
                               std::unique_ptr<ResponseBuilder> builder, RequestMetrics& metrics,
                               bool stream, int32_t max_tokens_param,
                               std::shared_ptr<void> in_flight_ticket)
    : engine_(engine),
      responder_(std::move(responder)),
      builder_(std::move(builder)),
      metrics_(metrics),
      stream_(stream),
      max_tokens_param_(max_tokens_param),
      ticket_(std::move(in_flight_ticket)) {}

engine::OutputSink GenerationCall::sink() {
  // Runs on the engine thread: no blocking, no touching the call's state.
  return [self = shared_from_this()](engine::RequestOutput&& out) {
    Clock::time_point received = Clock::now();
    self->responder_->post([self, out = std::move(out), received]() mutable {
      self->on_output(std::move(out), received);
    });
  };
}

void GenerationCall::submit(engine::GenerationRequest request) {
  if (!responder_->is_open()) return;  // the client left while its prompt was tokenized
  submitted_at_ = Clock::now();
  Status status = engine_.submit(std::move(request));
  if (!status) {
    done_ = true;
    responder_->send(error_response(api_error_from(status)));
    return;
  }
  submitted_ = true;
  std::weak_ptr<GenerationCall> weak = weak_from_this();
  responder_->on_disconnect([weak] {
    if (auto self = weak.lock()) self->client_gone();
  });
  if (stream_) {
    responder_->begin_stream("text/event-stream; charset=utf-8");
    write(builder_->stream_opening());
  }
}

void GenerationCall::write(std::string data) {
  if (data.empty() || client_gone_) return;
  if (!responder_->write(std::move(data))) client_gone();
}

void GenerationCall::on_output(engine::RequestOutput out, Clock::time_point received) {
  if (done_) return;
  if (!out.token_ids.empty()) {
    if (tokens_seen_ == 0) {
      Clock::time_point arrival = either(out.timings.arrival, submitted_at_);
      metrics_.observe_first_token(
          seconds_between(arrival, either(out.timings.first_token, received)));
    } else {
      metrics_.observe_inter_token(seconds_between(last_token_at_, received));
    }
    tokens_seen_ += int64_t(out.token_ids.size());
    last_token_at_ = received;
  }
  if (stream_) {
    write(builder_->stream_delta(out));
  } else if (!client_gone_) {
    builder_->accumulate(out);
  }
  if (out.finish_reason) finish(out, received);
}

void GenerationCall::finish(const engine::RequestOutput& out, Clock::time_point received) {
  done_ = true;
  const engine::RequestTimings& t = out.timings;
  Clock::time_point arrival = either(t.arrival, submitted_at_);
  Clock::time_point finished = either(t.finished, received);
  Clock::time_point scheduled = either(t.first_scheduled, arrival);
  Clock::time_point first_token = either(t.first_token, tokens_seen_ ? last_token_at_ : finished);
  FinishedRequest stats;
  stats.reason = *out.finish_reason;
  stats.e2e_seconds = seconds_between(arrival, finished);
  stats.queue_seconds = seconds_between(arrival, scheduled);
  stats.prefill_seconds = seconds_between(scheduled, first_token);
  stats.decode_seconds = seconds_between(first_token, finished);
  stats.inference_seconds = seconds_between(scheduled, finished);
  stats.prompt_tokens = builder_->meta().prompt_tokens;
  stats.generation_tokens = std::max<int64_t>(out.completion_tokens, tokens_seen_);
  stats.max_tokens_param = max_tokens_param_;
  metrics_.observe_finished(stats);
  spdlog::debug("Finished request {}: {} ({} prompt, {} generated tokens, {:.3f} s)", id(),
                finish_reason_text(stats.reason), stats.prompt_tokens, stats.generation_tokens,
                stats.e2e_seconds);

  if (client_gone_) return;
  if (stream_) {
    write(builder_->stream_closing());
    responder_->end_stream();
  } else if (ResponseBuilder::failed(out)) {
    responder_->send(error_response(ResponseBuilder::failure_of(out)));
  } else {
    HttpResponse response;
    response.body = builder_->full_body();
    responder_->send(std::move(response));
  }
}

void GenerationCall::client_gone() {
  if (client_gone_) return;
  client_gone_ = true;
  if (submitted_ && !done_) {
    spdlog::debug("Client of request {} went away: aborting it", id());
    engine_.abort(id());
  }
}

}  // namespace kvtier::server
