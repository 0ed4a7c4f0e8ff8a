#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "engine/request_validation.h"
#include "kv/block_hash.h"

namespace kvtier::engine {
namespace {

// vllm:iteration_tokens_total's buckets.
const std::vector<double> kIterationTokenBuckets = {1,   8,    16,   32,   64,   128,  256,
                                                    512, 1024, 2048, 4096, 8192, 16384};
// How often an engine with nothing runnable polls transfers in flight.
constexpr auto kTransferPollInterval = std::chrono::microseconds(200);

}  // namespace

Expected<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config, EngineParts parts) {
  if (!parts.runner) return invalid_argument("the engine needs a model runner");
  if (config.block_size < 1)
    return invalid_argument("block_size must be >= 1, got {}", config.block_size);
  if (config.max_num_seqs < 1) {
    return invalid_argument("max_num_seqs must be >= 1, got {}", config.max_num_seqs);
  }
  if (config.max_num_batched_tokens < 1) {
    return invalid_argument("max_num_batched_tokens must be >= 1, got {}",
                            config.max_num_batched_tokens);
  }
  if (config.max_logprobs < 0) {
    return invalid_argument("max_logprobs must be >= 0, got {}", config.max_logprobs);
  }
  const kv::KvLayout& layout = parts.runner->kv_layout();
  if (layout.block_size != config.block_size) {
    return invalid_argument("the model runner's KV blocks hold {} tokens but block_size is {}",
                            layout.block_size, config.block_size);
  }
  const kv::KvPool pool = parts.runner->kv_pool();
  if (pool.num_blocks < 1) return invalid_argument("the KV pool has no blocks");
  const int32_t model_len = parts.runner->config().max_position_embeddings;
  const int64_t capacity = int64_t(pool.num_blocks) * config.block_size;
  int32_t max_model_len = config.max_model_len > 0 ? config.max_model_len : model_len;
  if (config.max_model_len > model_len) {
    return invalid_argument(
        "max_model_len {} is larger than the model's max_position_embeddings {}",
        config.max_model_len, model_len);
  }
  if (max_model_len > capacity) {
    if (config.max_model_len > 0) {
      return Status(
          ErrorCode::kResourceExhausted,
          fmt::format("max_model_len {} needs {} KV blocks of {} tokens but the cache has "
                      "{} blocks; lower --max-model-len or give the cache more memory",
                      max_model_len, (max_model_len + config.block_size - 1) / config.block_size,
                      config.block_size, pool.num_blocks));
    }
    spdlog::warn("max_model_len lowered from {} to {}, the tokens the KV cache holds ({} blocks)",
                 max_model_len, capacity, pool.num_blocks);
    max_model_len = int32_t(capacity);
  }
  return std::unique_ptr<Engine>(new Engine(config, std::move(parts), max_model_len));
}

Engine::Engine(const EngineConfig& config, EngineParts parts, int32_t max_model_len)
    : config_(config),
      max_model_len_(max_model_len),
      vocab_size_(parts.runner->config().vocab_size),
      clock_(parts.clock ? std::move(parts.clock) : [] { return Clock::now(); }),
      eos_token_ids_(std::move(parts.eos_token_ids)),
      runner_(std::move(parts.runner)),
      tokenizer_(std::move(parts.tokenizer)),
      events_(std::move(parts.events)),
      connector_(std::move(parts.connector)),
      blocks_(kv::BlockManager::Options{runner_->kv_pool().num_blocks, config.block_size,
                                        config.enable_prefix_caching, events_.get()}),
      tier_(connector_ ? std::make_unique<KvTier>(*connector_, blocks_) : nullptr),
      scheduler_(SchedulerConfig{config.max_num_seqs,
                                 config.enable_chunked_prefill
                                     ? config.max_num_batched_tokens
                                     : std::max(config.max_num_batched_tokens, max_model_len),
                                 config.enable_chunked_prefill, config.scheduling_policy},
                 blocks_, tier_.get()),
      rng_(config.seed),
      iteration_tokens_(kIterationTokenBuckets) {
  info_.model_name = !config.served_model_name.empty() ? config.served_model_name
                                                       : config.model_dir.filename().string();
  info_.max_model_len = max_model_len_;
  info_.vocab_size = vocab_size_;
  info_.block_size = config.block_size;
  info_.num_gpu_blocks = blocks_.num_blocks();
  info_.num_cpu_blocks = connector_ ? connector_->stats().num_blocks : 0;
  info_.max_num_seqs = config.max_num_seqs;
  info_.max_num_batched_tokens = config.max_num_batched_tokens;
  info_.enable_prefix_caching = config.enable_prefix_caching;
  info_.device = config.device;
  publish_stats();
}

Engine::~Engine() { shutdown(false); }

Status Engine::submit(GenerationRequest request) {
  RequestLimits limits{vocab_size_, max_model_len_, config_.max_logprobs, tokenizer_ != nullptr,
                       config_.scheduling_policy == SchedulingPolicy::kPriority};
  KVTIER_RETURN_IF_ERROR(validate_request(request, limits));
  const Clock::time_point arrival = clock_();
  {
    std::lock_guard lock(inbox_mu_);
    if (!accepting_) {
      return Status(ErrorCode::kUnavailable,
                    fmt::format("the engine is shutting down; request {} was not accepted",
                                request.request_id));
    }
    if (!accepted_.insert(request.request_id).second) {
      return Status(ErrorCode::kAlreadyExists,
                    fmt::format("request id {} is already in use", request.request_id));
    }
    inbox_.push_back(Command{false, std::move(request), {}, arrival});
  }
  inbox_cv_.notify_one();
  return Status::ok();
}

void Engine::abort(const std::string& request_id) {
  {
    std::lock_guard lock(inbox_mu_);
    if (!accepted_.count(request_id)) return;
    inbox_.push_back(Command{true, {}, request_id, {}});
  }
  inbox_cv_.notify_one();
}

EngineStats Engine::stats() const {
  EngineStats out;
  {
    std::lock_guard lock(stats_mu_);
    out = stats_;
  }
  out.iteration_tokens = iteration_tokens_.snapshot();
  return out;
}

void Engine::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void Engine::loop() {
  while (true) {
    {
      std::unique_lock lock(inbox_mu_);
      auto woken = [&] { return stop_ || !inbox_.empty(); };
      if (!can_progress()) {
        // Only transfers (or blocks they hold) stand in the way: poll again shortly.
        if (waiting_on_transfers()) {
          inbox_cv_.wait_for(lock, kTransferPollInterval, woken);
        } else {
          inbox_cv_.wait(lock, woken);
        }
      }
      if (stop_) break;
    }
    step();
  }
  abort_all();
}

bool Engine::can_progress() const { return scheduler_.has_runnable() && !last_step_idle_; }

bool Engine::waiting_on_transfers() const {
  return (tier_ && tier_->busy()) || (last_step_idle_ && scheduler_.has_runnable());
}

bool Engine::shutdown(bool finish_accepted, std::optional<Clock::duration> timeout) {
  {
    std::lock_guard lock(inbox_mu_);
    accepting_ = false;
  }
  bool clean = true;
  if (thread_.joinable()) {
    std::unique_lock lock(inbox_mu_);
    auto done = [&] { return accepted_.empty(); };
    if (!finish_accepted) {
      clean = done();
    } else if (timeout) {
      clean = idle_cv_.wait_for(lock, *timeout, done);
    } else {
      idle_cv_.wait(lock, done);
    }
    stop_ = true;
    lock.unlock();
    inbox_cv_.notify_all();
    thread_.join();
  } else {
    if (finish_accepted) {
      step_until_idle(timeout ? Clock::now() + *timeout : Clock::time_point::max());
    }
    {
      std::lock_guard lock(inbox_mu_);
      clean = accepted_.empty();
    }
    abort_all();
  }
  return clean;
}

void Engine::abort_all() {
  drain_inbox();
  std::vector<std::string> ids;
  ids.reserve(seqs_.size());
  for (const auto& [id, seq] : seqs_) ids.push_back(id);
  for (const auto& id : ids) abort_sequence(id);
  if (tier_) {
    tier_->drain();
    tier_stats_stale_ = true;
  }
  end_step();
}

bool Engine::has_work() const {
  {
    std::lock_guard lock(inbox_mu_);
    if (!inbox_.empty()) return true;
  }
  return !scheduler_.empty() || (tier_ && tier_->busy());
}

void Engine::run_until_idle() { step_until_idle(Clock::time_point::max()); }

void Engine::step_until_idle(Clock::time_point deadline) {
  while (has_work() && Clock::now() < deadline) {
    step();
    if (!can_progress() && waiting_on_transfers())
      std::this_thread::sleep_for(kTransferPollInterval);
  }
}

void Engine::drain_inbox() {
  {
    std::lock_guard lock(inbox_mu_);
    if (inbox_.empty()) return;
    drained_.swap(inbox_);
  }
  now_ = clock_();
  for (Command& cmd : drained_) {
    if (cmd.abort) {
      abort_sequence(cmd.request_id);
    } else {
      add_sequence(std::move(cmd.request), cmd.arrival);
    }
  }
  drained_.clear();
}

void Engine::add_sequence(GenerationRequest request, Clock::time_point arrival) {
  auto seq = std::make_unique<Sequence>();
  seq->id = std::move(request.request_id);
  seq->params = std::move(request.sampling);
  seq->sink = std::move(request.sink);
  seq->tokens = std::move(request.prompt_ids);
  seq->tokens.reserve(seq->tokens.size() + size_t(std::min(seq->params.max_tokens, 1024)));
  seq->num_prompt = int32_t(seq->tokens.size());
  seq->kv.salt = kv::BlockHashChain(config_.block_hasher, request.cache_salt);
  seq->priority = request.priority;
  seq->timings.arrival = arrival;
  if (!seq->params.ignore_eos) {
    seq->stop_ids.assign(eos_token_ids_.begin(), eos_token_ids_.end());
  }
  seq->stop_ids.insert(seq->stop_ids.end(), seq->params.stop_token_ids.begin(),
                       seq->params.stop_token_ids.end());
  const uint64_t seed = seq->params.seed ? *seq->params.seed : rng_();
  seq->sampling.init(seq->params, seq->tokens, seed, seq->stop_ids);
  if (tokenizer_) seq->text = std::make_unique<TextStream>(tokenizer_, seq->params);
  Sequence* raw = seq.get();
  auto [it, inserted] = seqs_.emplace(raw->id, std::move(seq));
  if (!inserted) return;  // submit() keeps ids unique among accepted requests
  scheduler_.add(raw);
}

void Engine::abort_sequence(const std::string& request_id) {
  auto it = seqs_.find(request_id);
  if (it == seqs_.end()) return;
  RequestOutput out = make_output(*it->second);
  finish(*it->second, out, FinishReason::kAbort);
}

void Engine::finish(Sequence& seq, RequestOutput& out, FinishReason reason) {
  scheduler_.finish(&seq);
  seq.timings.finished = now_;
  out.finish_reason = reason;
  out.timings = seq.timings;
  {
    std::lock_guard lock(inbox_mu_);
    accepted_.erase(seq.id);
    if (accepted_.empty()) idle_cv_.notify_all();
  }
  // The final output goes out after this step's stats are published (end_step), so a client
  // that reads /metrics once its request is done sees the request counted.
  auto it = seqs_.find(seq.id);
  finished_.push_back({std::move(it->second), std::move(out)});
  seqs_.erase(it);
}

RequestOutput Engine::make_output(const Sequence& seq) const {
  RequestOutput out;
  out.request_id = seq.id;
  out.prompt_tokens = seq.num_prompt;
  out.completion_tokens = seq.num_output();
  out.cached_tokens = seq.cached_tokens;
  return out;
}

void Engine::end_step() {
  scheduler_.remove_finished();
  if (events_) events_->flush();
  publish_stats();
  for (Finished& f : finished_) f.seq->sink(std::move(f.output));
  finished_.clear();
}

void Engine::publish_stats() {
  const SchedulerCounters& c = scheduler_.counters();
  std::lock_guard lock(stats_mu_);
  stats_.num_requests_running = scheduler_.num_running();
  stats_.num_requests_waiting = scheduler_.num_waiting();
  stats_.num_requests_loading = scheduler_.num_loading();
  stats_.kv_cache_usage = blocks_.usage();
  stats_.prefix_cache_queries = c.prefix_queries;
  stats_.prefix_cache_hits = c.prefix_hits;
  stats_.external_prefix_cache_queries = c.external_queries;
  stats_.external_prefix_cache_hits = c.external_hits;
  stats_.num_preemptions = c.preemptions;
  stats_.prompt_tokens = prompt_tokens_;
  stats_.generation_tokens = generation_tokens_;
  stats_.num_steps = step_id_;
  // The tier's counters change only when transfers finish: no need to ask it every step.
  if (connector_ && tier_stats_stale_) {
    tier_stats_stale_ = false;
    const kv::ConnectorStats cs = connector_->stats();
    stats_.cpu_cache_usage = cs.num_blocks > 0 ? double(cs.num_used_blocks) / cs.num_blocks : 0.0;
    stats_.transfers["GPU_to_CPU"] = {cs.store_bytes, cs.store_seconds, cs.stores,
                                      cs.failed_stores, cs.store_sizes};
    stats_.transfers["CPU_to_GPU"] = {cs.load_bytes, cs.load_seconds, cs.loads, cs.failed_loads,
                                      cs.load_sizes};
  }
}

}  // namespace kvtier::engine
