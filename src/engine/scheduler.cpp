#include "engine/scheduler.h"

#include <algorithm>
#include <cassert>
#include <tuple>

#include "kv/block_hash.h"

namespace kvtier::engine {
namespace {

// vLLM's request order under the priority policy: the lower priority value first, then the
// earlier arrival.
bool served_before(const Sequence* a, const Sequence* b) {
  return std::tie(a->priority, a->timings.arrival, a->arrival_order) <
         std::tie(b->priority, b->timings.arrival, b->arrival_order);
}

}  // namespace

Scheduler::Scheduler(const SchedulerConfig& config, kv::BlockManager& blocks, KvTier* tier)
    : config_(config), blocks_(blocks), tier_(tier) {
  running_.reserve(size_t(config.max_num_seqs));
  out_.reserve(size_t(config.max_num_seqs));
}

void Scheduler::add(Sequence* seq) {
  seq->state = SeqState::kWaiting;
  seq->arrival_order = num_added_++;
  if (config_.policy == SchedulingPolicy::kPriority) {
    enqueue_by_priority(seq);
  } else {
    waiting_.push_back(seq);
  }
}

void Scheduler::enqueue_by_priority(Sequence* seq) {
  waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), seq, served_before), seq);
}

void Scheduler::finish(Sequence* seq) {
  switch (seq->state) {
    case SeqState::kRunning:
      // Removed from running_ by the next schedule(); nothing reads it before.
      break;
    case SeqState::kLoading:
      --num_loading_;
      [[fallthrough]];
    case SeqState::kWaiting: {
      auto it = std::find(waiting_.begin(), waiting_.end(), seq);
      if (it != waiting_.end()) waiting_.erase(it);
      break;
    }
    case SeqState::kFinished:
      return;
  }
  blocks_.free(seq->kv);
  seq->state = SeqState::kFinished;
}

const std::vector<ScheduledChunk>& Scheduler::schedule(uint64_t step) {
  out_.clear();
  preempted_ = false;
  remove_finished();
  int32_t budget = config_.max_num_batched_tokens;
  order_.assign(running_.begin(), running_.end());
  for (Sequence* seq : order_) {
    if (seq->state == SeqState::kRunning && seq->num_tokens() - seq->num_computed == 1) {
      schedule_running(seq, budget, step);
    }
  }
  for (Sequence* seq : order_) {
    if (seq->state == SeqState::kRunning && seq->scheduled_step != step) {
      schedule_running(seq, budget, step);
    }
  }
  // As in vLLM, a step that had to preempt admits nobody: the cache is full.
  if (!preempted_) schedule_waiting(budget, step);
  return out_;
}

void Scheduler::remove_finished() {
  std::erase_if(running_, [](const Sequence* s) { return s->state != SeqState::kRunning; });
}

void Scheduler::schedule_running(Sequence* seq, int32_t& budget, uint64_t step) {
  if (budget <= 0) return;
  const int32_t n = std::min(seq->num_tokens() - seq->num_computed, budget);
  while (true) {
    if (auto plan = blocks_.prepare(seq->kv, seq->num_computed + n)) {
      blocks_.apply(seq->kv, *plan);
      emit(seq, n, step);
      budget -= n;
      return;
    }
    Sequence* victim = pick_victim(seq, step);
    if (victim != seq && victim->scheduled_step == step) unschedule(victim, budget);
    preempt(victim);
    if (victim == seq) return;
  }
}

Sequence* Scheduler::pick_victim(const Sequence* seq, uint64_t step) const {
  if (config_.policy == SchedulingPolicy::kPriority) return pick_lowest_priority();
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    Sequence* s = *it;
    if (s != seq && s->state == SeqState::kRunning && s->scheduled_step != step) return s;
  }
  return const_cast<Sequence*>(seq);
}

Sequence* Scheduler::pick_lowest_priority() const {
  // As vLLM's max(running, key=(priority, arrival)): whether scheduled this step or not, the
  // sequence asking for blocks included (it is running, so there is always one).
  Sequence* victim = nullptr;
  for (Sequence* s : running_) {
    if (s->state == SeqState::kRunning && (!victim || served_before(victim, s))) victim = s;
  }
  return victim;
}

void Scheduler::unschedule(Sequence* seq, int32_t& budget) {
  auto it = std::find_if(out_.begin(), out_.end(),
                         [&](const ScheduledChunk& c) { return c.seq == seq; });
  if (it == out_.end()) return;
  budget += it->num_tokens;
  out_.erase(it);
}

void Scheduler::preempt(Sequence* victim) {
  blocks_.free(victim->kv);
  victim->num_computed = 0;
  victim->state = SeqState::kWaiting;
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  if (config_.policy == SchedulingPolicy::kPriority) {
    enqueue_by_priority(victim);
  } else {
    waiting_.push_front(victim);
  }
  ++counters_.preemptions;
  preempted_ = true;
}

void Scheduler::schedule_waiting(int32_t& budget, uint64_t step) {
  // Once a request without blocks does not fit, later ones without blocks wait too (in the
  // policy's order); requests that already hold their blocks (their KV arrived from the second
  // tier) may still start, so blocks they hold never deadlock the queue.
  bool blocked = false;
  size_t i = 0;
  while (i < waiting_.size() && budget > 0 && num_running() < config_.max_num_seqs) {
    Sequence* seq = waiting_[i];
    if (seq->state == SeqState::kLoading || (blocked && seq->kv.table.empty())) {
      ++i;
      continue;
    }
    switch (admit(seq, budget, step)) {
      case Admission::kAdmitted:
        waiting_.erase(waiting_.begin() + std::ptrdiff_t(i));
        break;
      case Admission::kLoading:
        ++i;
        break;
      case Admission::kNoRoom:
        blocked = true;
        ++i;
        break;
    }
  }
}

Scheduler::Admission Scheduler::admit(Sequence* seq, int32_t& budget, uint64_t step) {
  const int32_t bs = blocks_.block_size();
  const bool fresh = seq->kv.table.empty();
  int32_t computed = seq->num_computed;
  int32_t gpu_tokens = 0;
  if (fresh) {
    kv::extend_block_hashes(seq->kv.hashes, seq->tokens, bs, seq->kv.salt);
    const int32_t num_full = seq->num_tokens() / bs;
    blocks_.match_prefix(seq->kv.hashes, seq->tokens, num_full, match_);
    const int32_t gpu_blocks = int32_t(match_.blocks.size());
    int32_t ext_blocks = 0;
    if (tier_ && gpu_blocks < num_full) {
      ext_blocks =
          std::clamp(tier_->lookup(seq->kv, gpu_blocks, num_full), 0, num_full - gpu_blocks);
    }
    // The last token is always computed: its logits give the next token.
    const int32_t last = seq->num_tokens() - 1;
    gpu_tokens = std::min(gpu_blocks * bs, last);
    computed = std::min((gpu_blocks + ext_blocks) * bs, last);
    if (match_.num_not_ready > 0 || ext_blocks > 0) {
      return start_loading(seq, gpu_blocks, ext_blocks, computed);
    }
  }
  int32_t n = seq->num_tokens() - computed;
  if (!config_.enable_chunked_prefill && n > budget) return Admission::kNoRoom;
  n = std::min(n, budget);
  auto plan = blocks_.prepare(seq->kv, computed + n, fresh ? &match_ : nullptr);
  if (!plan) return Admission::kNoRoom;
  blocks_.apply(seq->kv, *plan, fresh ? &match_ : nullptr);
  if (fresh) record_admission(seq, gpu_tokens, computed - gpu_tokens);
  seq->num_computed = computed;
  seq->state = SeqState::kRunning;
  running_.push_back(seq);
  emit(seq, n, step);
  budget -= n;
  return Admission::kAdmitted;
}

Scheduler::Admission Scheduler::start_loading(Sequence* seq, int32_t gpu_blocks, int32_t ext_blocks,
                                              int32_t computed) {
  // The whole sequence gets its blocks now, so once its KV has arrived it needs no more blocks
  // to finish its prompt and cannot deadlock against other block holders.
  auto plan = blocks_.prepare(seq->kv, seq->num_tokens(), &match_);
  if (!plan) return Admission::kNoRoom;
  blocks_.apply(seq->kv, *plan, &match_);
  if (ext_blocks > 0) {
    const int32_t end = gpu_blocks + ext_blocks;
    // Keyed at once but not ready: a request that matches them joins this load.
    blocks_.cache_full_blocks(seq->kv, seq->tokens, end, /*ready=*/false);
    tier_->start_load(seq->kv, gpu_blocks, ext_blocks);
  }
  const int32_t gpu_tokens = std::min(gpu_blocks * blocks_.block_size(), computed);
  record_admission(seq, gpu_tokens, computed - gpu_tokens);
  seq->num_computed = computed;
  seq->state = SeqState::kLoading;
  ++num_loading_;
  return Admission::kLoading;
}

void Scheduler::record_admission(Sequence* seq, int32_t gpu_tokens, int32_t ext_tokens) {
  if (seq->admitted_once) return;
  seq->admitted_once = true;
  seq->cached_tokens = gpu_tokens + ext_tokens;
  if (blocks_.prefix_caching()) {
    counters_.prefix_queries += uint64_t(seq->num_tokens());
    counters_.prefix_hits += uint64_t(gpu_tokens);
  }
  if (tier_) {
    counters_.external_queries += uint64_t(seq->num_tokens());
    counters_.external_hits += uint64_t(ext_tokens);
  }
}

void Scheduler::emit(Sequence* seq, int32_t num_tokens, uint64_t step) {
  out_.push_back(
      {seq, seq->num_computed, num_tokens, seq->num_computed + num_tokens == seq->num_tokens()});
  seq->scheduled_step = step;
}

bool Scheduler::blocks_ready(const Sequence* seq) const {
  return std::all_of(seq->kv.table.begin(), seq->kv.table.end(),
                     [&](int32_t id) { return blocks_.is_ready(id); });
}

void Scheduler::on_loads_failed(std::span<const int32_t> blocks) {
  if (num_loading_ == 0 || blocks.empty()) return;
  std::vector<uint8_t> failed(size_t(blocks_.num_blocks()), 0);
  for (int32_t id : blocks) failed[size_t(id)] = 1;
  const int32_t bs = blocks_.block_size();
  for (Sequence* seq : waiting_) {
    if (seq->state != SeqState::kLoading) continue;
    const auto& table = seq->kv.table;
    const auto bad = std::find_if(table.begin(), table.end(),
                                  [&](int32_t id) { return failed[size_t(id)] != 0; });
    if (bad == table.end()) continue;
    // Tokens before the first failed block were hits; the rest will be computed.
    seq->cached_tokens = std::min(seq->cached_tokens, int32_t(bad - table.begin()) * bs);
    // Fresh again, in its place in the queue: admission redoes the prefix match.
    blocks_.free(seq->kv);
    seq->num_computed = 0;
    seq->state = SeqState::kWaiting;
    --num_loading_;
  }
}

void Scheduler::on_loads_finished() {
  if (num_loading_ == 0) return;
  // Under fcfs ready sequences move to the front (in their order): they hold blocks, so running
  // them soon returns those blocks. Under priority they keep their place in the order, as in
  // vLLM; holding blocks, they may still start past a request that does not fit.
  const bool to_front = config_.policy == SchedulingPolicy::kFcfs;
  std::vector<Sequence*> ready;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Sequence* seq = *it;
    if (seq->state == SeqState::kLoading && blocks_ready(seq)) {
      seq->state = SeqState::kWaiting;
      --num_loading_;
      if (to_front) {
        ready.push_back(seq);
        it = waiting_.erase(it);
        continue;
      }
    }
    ++it;
  }
  waiting_.insert(waiting_.begin(), ready.begin(), ready.end());
}

}  // namespace kvtier::engine
