#pragma once
// An EngineClient whose requests report the RequestTimings a test chose: each submitted request
// takes the next TimedPlan (arrival, queue, prefill and decode times, and the tokens of each
// delta), and emit() hands every delta to the server at once. With the engine's times fixed,
// every server histogram but the inter-token latency (stamped on arrival at the server) is
// exact.
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine_client.h"
#include "fake_engine.h"

namespace kvtier::server::testing {

struct TimedPlan {
  // Seconds. Times in multiples of 1/512 s are whole nanoseconds and exact doubles, so sums
  // of them are exact too.
  double arrival = 0, queue = 0, prefill = 0, decode = 0;
  std::vector<int> deltas;  // tokens per delta; the last delta finishes the request
  engine::FinishReason finish = engine::FinishReason::kLength;
};

class TimedEngine final : public engine::EngineClient {
 public:
  // Plans for the next submitted requests, in submission order.
  void plan(TimedPlan p) {
    std::lock_guard lock(mu_);
    plans_.push_back(std::move(p));
  }

  Status submit(engine::GenerationRequest request) override {
    std::lock_guard lock(mu_);
    if (plans_.empty()) return internal_error("no plan for request {}", request.request_id);
    active_.push_back({std::move(request), plans_.front()});
    plans_.pop_front();
    return Status::ok();
  }
  void abort(const std::string&) override {}
  engine::EngineStats stats() const override { return {}; }
  const engine::EngineInfo& info() const override { return info_; }

  // Sends every delta of every submitted request.
  void emit() {
    std::vector<Active> active;
    {
      std::lock_guard lock(mu_);
      active.swap(active_);
    }
    for (Active& a : active) {
      const TimedPlan& p = a.plan;
      engine::RequestTimings t;
      t.arrival = at(p.arrival);
      t.first_scheduled = at(p.arrival + p.queue);
      t.first_token = at(p.arrival + p.queue + p.prefill);
      t.finished = at(p.arrival + p.queue + p.prefill + p.decode);
      int32_t generated = 0;
      for (size_t i = 0; i < p.deltas.size(); ++i) {
        engine::RequestOutput o;
        o.request_id = a.request.request_id;
        o.prompt_tokens = int32_t(a.request.prompt_ids.size());
        for (int k = 0; k < p.deltas[i]; ++k) {
          const int32_t id = 'a' + (generated++ % 26);
          o.token_ids.push_back(id);
          o.text += fake_token_text(id);
        }
        o.completion_tokens = generated;
        o.timings = t;
        if (i + 1 == p.deltas.size()) o.finish_reason = p.finish;
        a.request.sink(std::move(o));
      }
    }
  }

 private:
  struct Active {
    engine::GenerationRequest request;
    TimedPlan plan;
  };
  // Seconds on the engine clock, from an origin well after its epoch (the epoch means "unset").
  static engine::Clock::time_point at(double seconds) {
    const auto ns = std::chrono::nanoseconds(int64_t(seconds * 1e9));
    return engine::Clock::time_point(std::chrono::seconds(1000) + ns);
  }

  engine::EngineInfo info_ = fake_engine_info();
  std::mutex mu_;  // guards plans_ and active_ (submit runs on the server's executor)
  std::deque<TimedPlan> plans_;
  std::vector<Active> active_;
};

}  // namespace kvtier::server::testing
