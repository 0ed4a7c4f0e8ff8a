#pragma once
// The engine: one thread owns scheduling and the KV cache and runs steps; other threads submit,
// abort and read stats through a mutex-guarded inbox. Each step:
//   drain inbox -> schedule -> forward -> sample -> post-process -> poll the second tier.
// Without start() the caller drives step() itself (tests, benchmarks, offline use).
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/histogram.h"
#include "engine/config.h"
#include "engine/engine_client.h"
#include "engine/kv_tier.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/sequence.h"
#include "kv/block_manager.h"
#include "kv/connector.h"
#include "kv/events.h"
#include "model/model_runner.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::engine {

// What an engine is made of; Engine::create builds them from an EngineConfig, tests inject fakes.
struct EngineParts {
  std::unique_ptr<model::ModelRunner> runner;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer;  // null: no stop strings, no text
  std::unique_ptr<kv::KvEventSink> events;                // null: no KV events
  std::unique_ptr<kv::KvConnector> connector;             // null: no second tier
  std::vector<int32_t> eos_token_ids;
  std::function<Clock::time_point()> clock;  // null: steady_clock
};

class Engine final : public EngineClient {
 public:
  // Loads the model, tokenizer, offload tier and event publisher, and starts the engine thread.
  static Expected<std::unique_ptr<Engine>> create(const EngineConfig& config);
  // What create() builds the engine from, for callers that drive it themselves.
  static Expected<EngineParts> load_parts(const EngineConfig& config);
  // Builds an engine over given parts; not started.
  static Expected<std::unique_ptr<Engine>> create(const EngineConfig& config, EngineParts parts);
  ~Engine() override;

  Status submit(GenerationRequest request) override;
  void abort(const std::string& request_id) override;
  EngineStats stats() const override;
  const EngineInfo& info() const override { return info_; }

  // Runs steps on an engine thread until shutdown().
  void start();
  bool running() const { return thread_.joinable(); }
  // Stops accepting requests. With finish_accepted, runs until every accepted request finished
  // (or `timeout` passed); then aborts what is left and stops. True when nothing was aborted.
  bool shutdown(bool finish_accepted, std::optional<Clock::duration> timeout = std::nullopt);

  // One engine step, for a caller that drives the engine without start().
  void step();
  // Requests or transfers are pending (driver thread only).
  bool has_work() const;
  void run_until_idle();

  // For tests and benchmarks on the driving thread.
  const kv::BlockManager& block_manager() const { return blocks_; }
  const Scheduler& scheduler() const { return scheduler_; }
  int32_t max_model_len() const { return max_model_len_; }

 private:
  Engine(const EngineConfig& config, EngineParts parts, int32_t max_model_len);

  struct Command {
    bool abort = false;
    GenerationRequest request;  // submit
    std::string request_id;     // abort
    Clock::time_point arrival;
  };

  void loop();
  // Whether the next step can schedule work without waiting for a transfer.
  bool can_progress() const;
  bool waiting_on_transfers() const;
  void step_until_idle(Clock::time_point deadline);
  void drain_inbox();
  void add_sequence(GenerationRequest request, Clock::time_point arrival);
  void abort_sequence(const std::string& request_id);
  void abort_all();

  Status forward(const std::vector<ScheduledChunk>& chunks);
  // Whether the runner can sample every row of this step where the logits are (only what the
  // device sampler supports: no penalties, no min_tokens masking, no allowed_token_ids or
  // bad_words, logprobs <= 20).
  bool samples_on_device(const std::vector<ScheduledChunk>& chunks) const;
  Status forward_sample(const std::vector<ScheduledChunk>& chunks);
  void sample(const std::vector<ScheduledChunk>& chunks);
  void post_process(const std::vector<ScheduledChunk>& chunks);
  void fail(const std::vector<ScheduledChunk>& chunks, const Status& status);
  void cache_computed_blocks(Sequence& seq);
  void append_token(Sequence& seq, int32_t token, TokenLogprob* logprob);
  void finish(Sequence& seq, RequestOutput& out, FinishReason reason);
  RequestOutput make_output(const Sequence& seq) const;
  void poll_tier();
  void end_step();
  void publish_stats();

  EngineConfig config_;
  EngineInfo info_;
  int32_t max_model_len_;
  int32_t vocab_size_;
  std::function<Clock::time_point()> clock_;
  std::vector<int32_t> eos_token_ids_;

  // Destruction order matters: the connector reads the runner's pool and reports to events_.
  std::unique_ptr<model::ModelRunner> runner_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<kv::KvEventSink> events_;
  std::unique_ptr<kv::KvConnector> connector_;
  kv::BlockManager blocks_;
  std::unique_ptr<KvTier> tier_;
  Scheduler scheduler_;
  Sampler sampler_;

  // Engine thread state.
  std::unordered_map<std::string, std::unique_ptr<Sequence>> seqs_;
  struct Finished {
    std::unique_ptr<Sequence> seq;
    RequestOutput output;  // the final output, sent after the step's stats are published
  };
  std::vector<Finished> finished_;  // sent and freed at the end of the step
  std::mt19937_64 rng_;                              // seeds for requests without one
  uint64_t step_id_ = 0;
  Clock::time_point now_{};
  model::ForwardBatch batch_;
  std::vector<float> logits_;
  bool sampled_on_device_ = false;  // this step's tokens are in device_tokens_, not logits_
  std::vector<model::SampleSpec> sample_specs_;     // per logits row
  std::vector<model::SampledToken> device_tokens_;  // per logits row
  std::vector<int32_t> sampled_;        // per chunk, -1 without logits
  std::vector<TokenLogprob> logprobs_;  // per chunk, used when asked for
  std::vector<int32_t> newly_cached_;
  uint64_t prompt_tokens_ = 0;  // cumulative, published in stats_
  uint64_t generation_tokens_ = 0;
  bool last_step_idle_ = false;  // the last step scheduled nothing
  Histogram iteration_tokens_;
  uint64_t step_tokens_ = 0;
  bool tier_stats_stale_ = true;  // the connector's stats changed since last published

  // Shared with client threads; guarded by inbox_mu_.
  mutable std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;  // wakes the engine thread
  std::condition_variable idle_cv_;   // all accepted requests finished
  std::vector<Command> inbox_;
  std::vector<Command> drained_;              // engine thread: the inbox swapped out
  std::unordered_set<std::string> accepted_;  // submitted and not yet finished
  bool accepting_ = true;
  bool stop_ = false;
  std::thread thread_;

  mutable std::mutex stats_mu_;
  EngineStats stats_;  // snapshot published after each step
};

}  // namespace kvtier::engine
