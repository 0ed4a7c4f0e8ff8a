// One engine step and what it is made of.
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "engine/stop_conditions.h"
#include "kv/block_hash.h"

namespace kvtier::engine {

void Engine::step() {
  drain_inbox();                                         // submits and aborts from clients
  const auto& chunks = scheduler_.schedule(++step_id_);  // admit, match prefixes, start loads
  last_step_idle_ = chunks.empty();
  if (!chunks.empty()) {
    Status status = forward(chunks);  // the model reads and writes the cache
    if (status) {
      now_ = clock_();
      sample(chunks);        // a token for each sequence whose chunk reached its last token
      post_process(chunks);  // append tokens, key full blocks, offer stores, stops, outputs
    } else {
      fail(chunks, status);
    }
  }
  poll_tier();  // finished loads make LOADING requests runnable; finished stores free blocks
  end_step();   // one KV event batch, the stats snapshot
}

Status Engine::forward(const std::vector<ScheduledChunk>& chunks) {
  now_ = clock_();
  batch_.seqs.clear();
  for (const ScheduledChunk& c : chunks) {
    Sequence& seq = *c.seq;
    if (seq.timings.first_scheduled == Clock::time_point{}) seq.timings.first_scheduled = now_;
    const int32_t end = c.start + c.num_tokens;
    batch_.seqs.push_back(model::SeqChunk{
        std::span<const int32_t>(seq.tokens).subspan(size_t(c.start), size_t(c.num_tokens)),
        c.start, std::span<const int32_t>(seq.kv.table).first(size_t(blocks_.blocks_for(end))),
        c.want_logits});
  }
  // Sampling where the logits are spares copying them to the host (600 KB a row for Qwen3).
  sampled_on_device_ = samples_on_device(chunks);
  if (sampled_on_device_) return forward_sample(chunks);
  KVTIER_RETURN_IF_ERROR(runner_->forward(batch_, logits_));
  const size_t expected = size_t(batch_.num_logit_rows()) * size_t(vocab_size_);
  if (logits_.size() != expected) {
    return internal_error("the model runner returned {} logits for {} rows of {} tokens",
                          logits_.size(), batch_.num_logit_rows(), vocab_size_);
  }
  return Status::ok();
}

bool Engine::samples_on_device(const std::vector<ScheduledChunk>& chunks) const {
  if (!runner_->samples_on_device()) return false;
  for (const ScheduledChunk& c : chunks) {
    if (!c.want_logits) continue;
    const Sequence& seq = *c.seq;
    const SamplingParams& p = seq.params;
    if (p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f ||
        p.frequency_penalty != 0.0f) {
      return false;
    }
    if (seq.sampling.num_output < p.min_tokens && !seq.sampling.stop_ids.empty()) return false;
    if (p.logprobs && *p.logprobs > model::kMaxSampleLogprobs) return false;
    // The device sampler has no token masks: allowed_token_ids and bad_words mask on the host.
    if (!p.allowed_token_ids.empty() || !p.bad_words_token_ids.empty()) return false;
  }
  return true;
}

Status Engine::forward_sample(const std::vector<ScheduledChunk>& chunks) {
  sample_specs_.clear();
  for (const ScheduledChunk& c : chunks) {
    if (!c.want_logits) continue;
    const Sequence& seq = *c.seq;
    model::SampleSpec spec;
    spec.temperature = seq.params.temperature;
    spec.top_k = seq.params.top_k;
    spec.top_p = seq.params.top_p;
    spec.min_p = seq.params.min_p;
    spec.seed = seq.sampling.seed;
    // The host sampler's draw counter: the same stream whichever side samples.
    spec.counter = uint64_t(seq.sampling.num_output);
    spec.num_logprobs = seq.params.logprobs ? *seq.params.logprobs : -1;
    sample_specs_.push_back(spec);
  }
  KVTIER_RETURN_IF_ERROR(runner_->forward_sample(batch_, sample_specs_, device_tokens_));
  if (device_tokens_.size() != sample_specs_.size()) {
    return internal_error("the model runner sampled {} tokens for {} rows", device_tokens_.size(),
                          sample_specs_.size());
  }
  for (const model::SampledToken& t : device_tokens_) {
    if (t.id < 0 || t.id >= vocab_size_) {
      return internal_error("the model runner sampled token {} outside the vocabulary of {}", t.id,
                            vocab_size_);
    }
  }
  return Status::ok();
}

void Engine::sample(const std::vector<ScheduledChunk>& chunks) {
  sampled_.assign(chunks.size(), -1);
  if (logprobs_.size() < chunks.size()) logprobs_.resize(chunks.size());
  size_t row = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (!chunks[i].want_logits) continue;
    Sequence& seq = *chunks[i].seq;
    TokenLogprob* logprob = seq.params.logprobs ? &logprobs_[i] : nullptr;
    if (sampled_on_device_) {
      model::SampledToken& t = device_tokens_[row++];
      sampled_[i] = t.id;
      if (logprob) *logprob = TokenLogprob{t.id, t.logprob, std::move(t.top)};
      continue;
    }
    std::span<float> logits(logits_.data() + row * size_t(vocab_size_), size_t(vocab_size_));
    ++row;
    sampled_[i] = sampler_.sample(logits, seq.params, seq.sampling, logprob);
  }
}

void Engine::post_process(const std::vector<ScheduledChunk>& chunks) {
  step_tokens_ = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    Sequence& seq = *chunks[i].seq;
    seq.num_computed += chunks[i].num_tokens;
    cache_computed_blocks(seq);
    if (chunks[i].want_logits) {
      append_token(seq, sampled_[i], seq.params.logprobs ? &logprobs_[i] : nullptr);
    }
  }
  if (step_tokens_ > 0) iteration_tokens_.observe(double(step_tokens_));
}

void Engine::cache_computed_blocks(Sequence& seq) {
  const int32_t bs = blocks_.block_size();
  const int32_t full = seq.num_computed / bs;
  if (full <= seq.kv.num_hashed) return;
  kv::extend_block_hashes(seq.kv.hashes,
                          std::span<const int32_t>(seq.tokens).first(size_t(full) * size_t(bs)), bs,
                          seq.kv.salt);
  newly_cached_.clear();
  blocks_.cache_full_blocks(seq.kv, seq.tokens, full, /*ready=*/true,
                            tier_ ? &newly_cached_ : nullptr);
  if (!tier_) return;
  const bool prompt_only = tier_->store_prompt_only();
  for (int32_t index : newly_cached_) {
    if (prompt_only && (index + 1) * bs > seq.num_prompt) continue;
    tier_->offer(seq.kv, index);
  }
}

void Engine::append_token(Sequence& seq, int32_t token, TokenLogprob* logprob) {
  seq.tokens.push_back(token);
  seq.sampling.append(seq.params, token);
  ++generation_tokens_;
  ++step_tokens_;
  if (seq.num_output() == 1) {
    seq.timings.first_token = now_;
    prompt_tokens_ += uint64_t(seq.num_prompt);
    step_tokens_ += uint64_t(seq.num_prompt);
  }
  RequestOutput out = make_output(seq);
  out.token_ids.push_back(token);
  if (logprob) out.logprobs.push_back(std::move(*logprob));

  std::optional<FinishReason> reason;
  const auto stop = check_token_stop(seq.params, token, seq.num_output(), seq.num_tokens(),
                                     max_model_len_, eos_token_ids_);
  if (stop) {
    reason = stop->reason;
    if (stop->stop_token) {
      out.stop_reason = std::to_string(*stop->stop_token);
      out.stop_token_id = stop->stop_token;
    }
  }
  if (seq.text) {
    // The text of an eos or stop token is shown only with include_stop_str_in_output.
    const bool hide =
        stop && stop->reason == FinishReason::kStop && !seq.params.include_stop_str_in_output;
    std::optional<std::string> matched;
    if (!hide) {
      matched = seq.text->push(token, seq.num_output() > seq.params.min_tokens, out.text);
    }
    if (matched) {
      reason = FinishReason::kStop;
      out.stop_reason = std::move(matched);
      out.stop_token_id.reset();
    } else if (reason) {
      seq.text->finish(out.text);
    }
  }
  if (reason) {
    finish(seq, out, *reason);
  } else {
    seq.sink(std::move(out));
  }
}

void Engine::fail(const std::vector<ScheduledChunk>& chunks, const Status& status) {
  spdlog::error("forward pass failed for {} sequences: {}", chunks.size(), status.to_string());
  for (const ScheduledChunk& c : chunks) {
    RequestOutput out = make_output(*c.seq);
    out.error = status;
    finish(*c.seq, out, FinishReason::kError);
  }
}

void Engine::poll_tier() {
  if (!tier_) return;
  const KvTier::PollResult r = tier_->poll();
  if (!r.failed_blocks.empty()) scheduler_.on_loads_failed(r.failed_blocks);
  if (r.loads_finished) scheduler_.on_loads_finished();
  if (r.any_finished) tier_stats_stale_ = true;
}

}  // namespace kvtier::engine
