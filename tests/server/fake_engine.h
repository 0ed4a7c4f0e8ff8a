#pragma once
// A scripted EngineClient for server tests and the server benchmark. Each submitted request
// follows a plan (by default: one token per step up to max_tokens, tokens 'a'..'z' cycling,
// stop strings and stop_token_ids honoured, logprobs when asked); steps run when the test calls
// step() or on a thread started with start(). KV usage is simulated from the tokens each active
// request holds, so "every request gone" shows as usage 0 exactly as with the real engine.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_client.h"

namespace kvtier::server::testing {

struct FakeStep {
  std::vector<int32_t> ids;
  std::string text;
  std::vector<engine::TokenLogprob> logprobs;
};

struct FakePlan {
  std::vector<FakeStep> steps;  // one delta per engine step
  engine::FinishReason finish = engine::FinishReason::kLength;
  std::optional<std::string> stop_reason;
  std::optional<int32_t> stop_token_id;
  int32_t cached_tokens = 0;
};

using FakePlanner = std::function<FakePlan(const engine::GenerationRequest&)>;

// The text of a fake token: its byte for ids below 256 (matching FakeCodec), else "<id>".
inline std::string fake_token_text(int32_t id) {
  if (id >= 0 && id < 256) return std::string(1, char(id));
  return std::string("<").append(std::to_string(id)).append(">");
}

inline engine::TokenLogprob fake_logprob(int32_t id, int32_t top, int32_t vocab) {
  engine::TokenLogprob lp;
  lp.token_id = id;
  lp.logprob = -0.25f;
  for (int32_t k = 0; k < top; ++k) {
    lp.top.emplace_back(k == 0 ? id : (id + k) % vocab, -0.25f - float(k));
  }
  return lp;
}

// How many trailing bytes of `text` could begin one of the stop strings (held back, as the
// real engine's stop matcher holds them).
inline size_t fake_stop_prefix(const std::string& text, const std::vector<std::string>& stops) {
  size_t held = 0;
  for (const std::string& stop : stops) {
    for (size_t n = std::min(stop.size() - 1, text.size()); n > held; --n) {
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) {
        held = n;
        break;
      }
    }
  }
  return held;
}

// One token per step: 'a' + (step % 26); stops at a stop string (cut unless
// include_stop_str_in_output; text that could start a stop string is held back), at a stop
// token id, or at max_tokens.
inline FakePlan default_fake_plan(const engine::GenerationRequest& request, int32_t vocab) {
  FakePlan plan;
  const engine::SamplingParams& s = request.sampling;
  std::string text;
  size_t emitted = 0;
  for (int32_t i = 0; i < s.max_tokens; ++i) {
    int32_t id = 'a' + (i % 26);
    FakeStep step;
    step.ids.push_back(id);
    if (s.logprobs) step.logprobs.push_back(fake_logprob(id, *s.logprobs, vocab));
    if (std::find(s.stop_token_ids.begin(), s.stop_token_ids.end(), id) != s.stop_token_ids.end()) {
      step.text = text.substr(emitted);
      plan.steps.push_back(std::move(step));
      plan.finish = engine::FinishReason::kStop;
      plan.stop_reason = std::to_string(id);
      plan.stop_token_id = id;
      return plan;
    }
    text += fake_token_text(id);
    for (const std::string& stop : s.stop) {
      size_t at = text.find(stop);
      if (at == std::string::npos) continue;
      size_t keep = at + (s.include_stop_str_in_output ? stop.size() : 0);
      step.text = keep > emitted ? text.substr(emitted, keep - emitted) : std::string();
      plan.steps.push_back(std::move(step));
      plan.finish = engine::FinishReason::kStop;
      plan.stop_reason = stop;
      return plan;
    }
    bool last = i + 1 == s.max_tokens;
    size_t safe = last ? text.size() : text.size() - fake_stop_prefix(text, s.stop);
    if (safe > emitted) {
      step.text = text.substr(emitted, safe - emitted);
      emitted = safe;
    }
    plan.steps.push_back(std::move(step));
  }
  return plan;
}

inline engine::EngineInfo fake_engine_info() {
  engine::EngineInfo info;
  info.model_name = "fake-model";
  info.max_model_len = 256;
  info.vocab_size = 300;
  info.block_size = 16;
  info.num_gpu_blocks = 4096;
  info.max_num_seqs = 4096;
  info.max_num_batched_tokens = 8192;
  return info;
}

class FakeEngine final : public engine::EngineClient {
 public:
  explicit FakeEngine(engine::EngineInfo info = fake_engine_info()) : info_(std::move(info)) {}
  ~FakeEngine() override { stop(); }

  void set_planner(FakePlanner planner) {
    std::lock_guard lock(mu_);
    planner_ = std::move(planner);
  }
  // submit() refuses every request with this status from now on.
  void reject_with(Status status) {
    std::lock_guard lock(mu_);
    reject_ = std::move(status);
  }

  // Steps on a thread every `interval` (zero: back to back, sleeping while idle).
  void start(std::chrono::microseconds interval) {
    running_ = true;
    thread_ = std::thread([this, interval] {
      while (running_) {
        {
          std::unique_lock lock(mu_);
          cv_.wait_for(lock, std::chrono::milliseconds(50),
                       [this] { return !running_ || !active_.empty(); });
        }
        step();
        if (interval.count() > 0) std::this_thread::sleep_for(interval);
      }
    });
  }
  void stop() {
    if (!running_.exchange(false)) return;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // One delta for every active request; returns how many requests are still active.
  size_t step() {
    std::vector<std::pair<engine::OutputSink, engine::RequestOutput>> out;
    size_t remaining;
    {
      std::lock_guard lock(mu_);
      auto now = engine::Clock::now();
      for (auto it = active_.begin(); it != active_.end();) {
        Active& a = it->second;
        engine::RequestOutput o;
        o.request_id = it->first;
        o.prompt_tokens = int32_t(a.prompt_tokens);
        o.cached_tokens = a.plan.cached_tokens;
        if (a.timings.first_scheduled == engine::Clock::time_point{}) {
          a.timings.first_scheduled = now;
        }
        bool finished = false;
        if (a.aborted) {
          o.finish_reason = engine::FinishReason::kAbort;
          finished = true;
        } else if (a.next < a.plan.steps.size()) {
          FakeStep& s = a.plan.steps[a.next++];
          if (!s.ids.empty() && a.timings.first_token == engine::Clock::time_point{}) {
            a.timings.first_token = now;
          }
          a.generated += int64_t(s.ids.size());
          o.token_ids = s.ids;
          o.text = s.text;
          o.logprobs = s.logprobs;
          if (a.next == a.plan.steps.size()) {
            o.finish_reason = a.plan.finish;
            o.stop_reason = a.plan.stop_reason;
            o.stop_token_id = a.plan.stop_token_id;
            finished = true;
          }
        } else {
          o.finish_reason = a.plan.finish;
          o.stop_reason = a.plan.stop_reason;
          o.stop_token_id = a.plan.stop_token_id;
          finished = true;
        }
        o.completion_tokens = int32_t(a.generated);
        generation_tokens_ += o.token_ids.size();
        if (finished) {
          a.timings.finished = now;
          if (a.timings.first_token == engine::Clock::time_point{}) a.timings.first_token = now;
        }
        o.timings = a.timings;
        out.emplace_back(finished ? std::move(a.sink) : a.sink, std::move(o));
        if (finished) {
          it = active_.erase(it);
        } else {
          ++it;
        }
      }
      ++steps_;
      remaining = active_.size();
    }
    for (auto& [sink, o] : out) sink(std::move(o));
    if (remaining == 0) idle_cv_.notify_all();
    return remaining;
  }

  void run_until_idle() {
    while (step() > 0) {
    }
  }
  bool wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return idle_cv_.wait_for(lock, timeout, [this] { return active_.empty(); });
  }

  Status submit(engine::GenerationRequest request) override {
    std::lock_guard lock(mu_);
    if (!reject_.is_ok()) return reject_;
    if (int64_t(request.prompt_ids.size()) >= info_.max_model_len) {
      return invalid_argument("prompt of {} tokens does not fit max_model_len {}",
                              request.prompt_ids.size(), info_.max_model_len);
    }
    Active a;
    a.plan = planner_ ? planner_(request) : default_fake_plan(request, info_.vocab_size);
    a.prompt_tokens = int64_t(request.prompt_ids.size());
    a.sink = std::move(request.sink);
    a.timings.arrival = engine::Clock::now();
    request.sink = nullptr;
    submitted_.push_back(request);
    prompt_tokens_ += uint64_t(a.prompt_tokens);
    active_.emplace(request.request_id, std::move(a));
    peak_active_ = std::max(peak_active_, active_.size());
    cv_.notify_all();
    return Status::ok();
  }

  void abort(const std::string& request_id) override {
    std::lock_guard lock(mu_);
    aborted_.push_back(request_id);
    auto it = active_.find(request_id);
    if (it != active_.end()) it->second.aborted = true;
    cv_.notify_all();
  }

  engine::EngineStats stats() const override {
    std::lock_guard lock(mu_);
    engine::EngineStats s;
    s.num_requests_running = int32_t(active_.size());
    int64_t blocks = 0;
    for (const auto& [id, a] : active_) {
      blocks += (a.prompt_tokens + a.generated + info_.block_size - 1) / info_.block_size;
    }
    s.kv_cache_usage = info_.num_gpu_blocks ? double(blocks) / info_.num_gpu_blocks : 0.0;
    s.prompt_tokens = prompt_tokens_;
    s.generation_tokens = generation_tokens_;
    s.num_steps = steps_;
    s.prefix_cache_queries = prompt_tokens_;
    // Two stores: 1,024 and 3,072 bytes, in vLLM's first bucket (1e6) of vllm:kv_offload_size.
    HistogramSnapshot sizes = empty_histogram({1e6, 5e6});
    observe(sizes, 1024);
    observe(sizes, 3072);
    s.transfers["GPU_to_CPU"] = {4096, 0.5, 2, 0, sizes};
    return s;
  }
  const engine::EngineInfo& info() const override { return info_; }

  // Inspection (any thread).
  std::vector<engine::GenerationRequest> submitted() const {
    std::lock_guard lock(mu_);
    return submitted_;
  }
  std::vector<std::string> aborted() const {
    std::lock_guard lock(mu_);
    return aborted_;
  }
  size_t active() const {
    std::lock_guard lock(mu_);
    return active_.size();
  }
  size_t peak_active() const {
    std::lock_guard lock(mu_);
    return peak_active_;
  }

 private:
  struct Active {
    FakePlan plan;
    size_t next = 0;
    int64_t prompt_tokens = 0;
    int64_t generated = 0;
    bool aborted = false;
    engine::OutputSink sink;
    engine::RequestTimings timings;
  };

  engine::EngineInfo info_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  FakePlanner planner_;
  Status reject_;
  std::map<std::string, Active> active_;
  std::vector<engine::GenerationRequest> submitted_;
  std::vector<std::string> aborted_;
  size_t peak_active_ = 0;
  uint64_t prompt_tokens_ = 0;
  uint64_t generation_tokens_ = 0;
  uint64_t steps_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace kvtier::server::testing
