#pragma once
// Decides each step's batch: running decodes first, then running prefills, then waiting
// requests, all within max_num_seqs and max_num_batched_tokens (long prompts are chunked across
// steps). When blocks run out a running request is preempted by recompute: its blocks are freed
// (their keys stay findable) and it waits again. At admission a request takes over its cached
// prefix; blocks the second tier holds are loaded while the request waits in LOADING.
// The policy (vLLM's --scheduling-policy) orders the waiting queue and picks whom to preempt:
// fcfs waits in arrival order and preempts the newest running request, which goes back to the
// front of the queue; priority waits in (priority, arrival) order, lower first, and preempts the
// running request with the largest (priority, arrival), even one already scheduled this step
// (its chunk is taken back), and requeues it in its place by that order. Engine thread only.
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "engine/kv_tier.h"
#include "engine/scheduling_policy.h"
#include "engine/sequence.h"
#include "kv/block_manager.h"

namespace kvtier::engine {

struct SchedulerConfig {
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  bool enable_chunked_prefill = true;
  SchedulingPolicy policy = SchedulingPolicy::kFcfs;
};

struct ScheduledChunk {
  Sequence* seq = nullptr;
  int32_t start = 0;  // first position computed this step
  int32_t num_tokens = 0;
  bool want_logits = false;  // the chunk reaches the last known token: sample after it
};

// Cumulative, in tokens (vLLM's prefix cache counters), plus preemptions.
struct SchedulerCounters {
  uint64_t prefix_queries = 0;
  uint64_t prefix_hits = 0;
  uint64_t external_queries = 0;
  uint64_t external_hits = 0;
  uint64_t preemptions = 0;
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, kv::BlockManager& blocks, KvTier* tier);

  void add(Sequence* seq);
  // Takes a finished or aborted sequence out of the queues and frees its blocks.
  void finish(Sequence* seq);
  // This step's batch; `step` identifies the step (strictly increasing).
  const std::vector<ScheduledChunk>& schedule(uint64_t step);
  // Drops finished sequences from the running list (finish() leaves them for this).
  void remove_finished();
  // After loads completed: LOADING sequences whose blocks are all ready may be scheduled.
  void on_loads_finished();
  // After loads failed into `blocks` (invalidated by the tier): every LOADING sequence holding
  // one of them gives its blocks back and waits again, so its next admission matches only what
  // the caches really hold and recomputes the rest (vLLM recomputes invalid blocks too). Call
  // before on_loads_finished(), which would take the invalidated blocks for loaded ones.
  void on_loads_failed(std::span<const int32_t> blocks);

  int32_t num_running() const { return int32_t(running_.size()); }
  int32_t num_waiting() const { return int32_t(waiting_.size()); }  // LOADING included
  int32_t num_loading() const { return num_loading_; }
  bool empty() const { return running_.empty() && waiting_.empty(); }
  // Something can be scheduled without waiting for a transfer.
  bool has_runnable() const { return !running_.empty() || num_waiting() > num_loading_; }
  const SchedulerCounters& counters() const { return counters_; }
  const std::vector<Sequence*>& running() const { return running_; }
  const std::deque<Sequence*>& waiting() const { return waiting_; }

 private:
  enum class Admission { kAdmitted, kLoading, kNoRoom };

  void schedule_running(Sequence* seq, int32_t& budget, uint64_t step);
  void schedule_waiting(int32_t& budget, uint64_t step);
  Admission admit(Sequence* seq, int32_t& budget, uint64_t step);
  Admission start_loading(Sequence* seq, int32_t gpu_blocks, int32_t ext_blocks, int32_t computed);
  void record_admission(Sequence* seq, int32_t gpu_tokens, int32_t ext_tokens);
  Sequence* pick_victim(const Sequence* seq, uint64_t step) const;
  Sequence* pick_lowest_priority() const;
  void unschedule(Sequence* seq, int32_t& budget);
  void preempt(Sequence* victim);
  void enqueue_by_priority(Sequence* seq);
  void emit(Sequence* seq, int32_t num_tokens, uint64_t step);
  bool blocks_ready(const Sequence* seq) const;

  SchedulerConfig config_;
  kv::BlockManager& blocks_;
  KvTier* tier_;                    // null without a second tier
  std::vector<Sequence*> running_;  // oldest first
  std::deque<Sequence*> waiting_;  // fcfs: arrival order; priority: (priority, arrival) order
  uint64_t num_added_ = 0;
  int32_t num_loading_ = 0;
  bool preempted_ = false;
  SchedulerCounters counters_;
  // Reused every step so scheduling does not allocate.
  std::vector<ScheduledChunk> out_;
  std::vector<Sequence*> order_;
  kv::PrefixMatch match_;
};

}  // namespace kvtier::engine
