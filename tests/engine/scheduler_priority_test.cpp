// --scheduling-policy priority in the scheduler: the waiting queue in (priority, arrival) order,
// lower first, and under KV pressure the running request with the largest (priority, arrival)
// preempted, as vLLM's scheduler does. The fcfs cases beside them show that the policy decides.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <numeric>

namespace kvtier::engine {
namespace {

constexpr int32_t kBs = 4;

struct Fixture {
  kv::BlockManager blocks;
  Scheduler scheduler;
  std::vector<std::unique_ptr<Sequence>> seqs;
  uint64_t step = 0;

  Fixture(int32_t num_blocks, SchedulerConfig config)
      : blocks(kv::BlockManager::Options{num_blocks, kBs, true, nullptr}),
        scheduler(config, blocks, nullptr) {}

  // Prompts of distinct tokens, so no request finds another's blocks in the prefix cache.
  Sequence* add(int32_t prompt_len, int64_t priority, Clock::time_point arrival = {}) {
    auto s = std::make_unique<Sequence>();
    s->id = fmt::format("s{}", seqs.size());
    s->tokens.resize(size_t(prompt_len));
    std::iota(s->tokens.begin(), s->tokens.end(), int32_t(seqs.size()) * 100);
    s->num_prompt = prompt_len;
    s->priority = priority;
    s->timings.arrival = arrival;
    scheduler.add(s.get());
    seqs.push_back(std::move(s));
    return seqs.back().get();
  }

  // Schedules a step and applies it as the engine would (a new token after each final chunk).
  std::vector<ScheduledChunk> run() {
    auto chunks = scheduler.schedule(++step);
    for (auto& c : chunks) {
      c.seq->num_computed += c.num_tokens;
      if (c.want_logits) c.seq->tokens.push_back(1000);
    }
    return chunks;
  }

  std::vector<Sequence*> waiting() const {
    return {scheduler.waiting().begin(), scheduler.waiting().end()};
  }
};

SchedulerConfig config(SchedulingPolicy policy, int32_t max_num_seqs = 8) {
  SchedulerConfig c{max_num_seqs, 100, true};
  c.policy = policy;
  return c;
}

TEST(SchedulerPriority, WaitsInPriorityOrderLowerFirst) {
  Fixture f(64, config(SchedulingPolicy::kPriority, /*max_num_seqs=*/1));
  Sequence* a = f.add(3, 5);
  Sequence* b = f.add(3, -2);
  Sequence* c = f.add(3, 0);
  Sequence* d = f.add(3, -2);
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{b, d, c, a}));  // equal priorities by arrival
  auto chunks = f.run();
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].seq, b);
  EXPECT_EQ(b->state, SeqState::kRunning);
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{d, c, a}));
  // A later arrival with a better priority goes ahead of everyone still waiting.
  Sequence* e = f.add(3, -7);
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{e, d, c, a}));
}

TEST(SchedulerPriority, EqualPrioritiesGoByArrivalTime) {
  const Clock::time_point t0{};
  Fixture f(64, config(SchedulingPolicy::kPriority, /*max_num_seqs=*/1));
  // Added in this order, but stamped the other way round: the arrival time decides.
  Sequence* later = f.add(3, 1, t0 + std::chrono::milliseconds(2));
  Sequence* earlier = f.add(3, 1, t0 + std::chrono::milliseconds(1));
  Sequence* better = f.add(3, 0, t0 + std::chrono::milliseconds(3));
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{better, earlier, later}));
  EXPECT_EQ(f.run()[0].seq, better);
}

TEST(SchedulerPriority, FcfsIgnoresPriority) {
  Fixture f(64, config(SchedulingPolicy::kFcfs, /*max_num_seqs=*/1));
  Sequence* a = f.add(3, 5);
  Sequence* b = f.add(3, -2);
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{a, b}));
  EXPECT_EQ(f.run()[0].seq, a);
}

TEST(SchedulerPriority, AHigherPriorityRequestThatDoesNotFitHoldsLowerOnesBack) {
  Fixture f(5, config(SchedulingPolicy::kPriority));
  f.add(12, 0);  // 3 blocks
  f.run();
  Sequence* small = f.add(3, 9);  // would fit, but must not pass the big one
  Sequence* big = f.add(12, 1);   // does not fit beside the first
  f.run();
  EXPECT_EQ(big->state, SeqState::kWaiting);
  EXPECT_EQ(small->state, SeqState::kWaiting);
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{big, small}));
}

// Three 7-token prompts fill 6 blocks; the step that needs a third block for each must preempt.
TEST(SchedulerPriority, PreemptsTheLowestPriorityRunningRequestAndRequeuesItByPriority) {
  Fixture f(6, config(SchedulingPolicy::kPriority));
  Sequence* a = f.add(7, 0);
  Sequence* b = f.add(7, 10);  // the lowest priority, though not the newest
  Sequence* c = f.add(7, 1);
  f.run();  // admitted a, c, b: 6 blocks used
  ASSERT_EQ(f.scheduler.num_running(), 3);
  Sequence* d = f.add(4, 2);  // waits: no block left
  f.run();
  auto chunks = f.run();  // a needs a third block
  EXPECT_EQ(f.scheduler.counters().preemptions, 1u);
  EXPECT_EQ(b->state, SeqState::kWaiting);
  EXPECT_EQ(b->num_computed, 0);
  EXPECT_TRUE(b->kv.table.empty());
  ASSERT_EQ(chunks.size(), 2u);  // nobody admitted in a step that preempted
  EXPECT_EQ(chunks[0].seq, a);
  EXPECT_EQ(chunks[1].seq, c);
  // Requeued by its priority, behind d, not at the front as fcfs would put it.
  EXPECT_EQ(f.waiting(), (std::vector<Sequence*>{d, b}));
}

// A low-priority request admitted before a high-priority one arrived runs first in the step's
// order. When the high-priority one then needs a block, vLLM takes the low one's already
// scheduled chunk back and preempts it; fcfs, which never preempts what the step already
// scheduled, preempts the request asking instead.
struct Race {
  Sequence* low = nullptr;
  Sequence* high = nullptr;
  std::vector<ScheduledChunk> chunks;  // of the step that preempted
};

Race race(Fixture& f) {
  Race r;
  r.low = f.add(7, 10);  // 2 blocks of 5
  f.run();               // 8 tokens
  r.high = f.add(7, 0);
  f.run();  // low decodes, high is admitted: 4 blocks
  f.run();  // low takes the last block for its 9th token
  EXPECT_EQ(f.blocks.num_free_blocks(), 0);
  EXPECT_EQ(f.scheduler.counters().preemptions, 0u);
  r.chunks = f.run();  // low decodes first; high needs a third block
  EXPECT_EQ(f.scheduler.counters().preemptions, 1u);
  return r;
}

TEST(SchedulerPriority, TakesBackAChunkAlreadyScheduledToPreemptItsRequest) {
  Fixture f(5, config(SchedulingPolicy::kPriority));
  Race r = race(f);
  EXPECT_EQ(r.low->state, SeqState::kWaiting);
  EXPECT_TRUE(r.low->kv.table.empty());
  EXPECT_EQ(r.high->state, SeqState::kRunning);
  ASSERT_EQ(r.chunks.size(), 1u);  // low's decode is no longer in the batch
  EXPECT_EQ(r.chunks[0].seq, r.high);
  EXPECT_EQ(r.high->kv.table.size(), 3u);
}

TEST(SchedulerPriority, FcfsPreemptsTheRequestAskingInstead) {
  Fixture f(5, config(SchedulingPolicy::kFcfs));
  Race r = race(f);
  EXPECT_EQ(r.high->state, SeqState::kWaiting);
  EXPECT_EQ(r.low->state, SeqState::kRunning);
  ASSERT_EQ(r.chunks.size(), 1u);
  EXPECT_EQ(r.chunks[0].seq, r.low);
}

TEST(SchedulerPriority, TakenBackTokensReturnToTheBudget) {
  // A budget of 4 tokens a step and 8 blocks. low and high decode while mid's long prompt takes
  // the rest of each step's budget, until high needs a new block and none is free.
  SchedulerConfig c{8, 4, true};
  c.policy = SchedulingPolicy::kPriority;
  Fixture f(8, c);
  Sequence* low = f.add(4, 10);
  f.run();
  Sequence* high = f.add(3, 0);
  f.run();
  Sequence* mid = f.add(40, 5);
  for (int i = 0; i < 5; ++i) f.run();
  ASSERT_EQ(f.scheduler.counters().preemptions, 0u);
  ASSERT_EQ(f.blocks.num_free_blocks(), 0);
  ASSERT_EQ(high->num_computed, 8);  // its next token needs a third block
  const int32_t mid_before = mid->num_computed;
  auto chunks = f.run();
  EXPECT_EQ(f.scheduler.counters().preemptions, 1u);
  EXPECT_EQ(low->state, SeqState::kWaiting);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].seq, high);
  EXPECT_EQ(chunks[1].seq, mid);
  // low's decode token went back to the budget: mid's chunk is 3 tokens, not 2.
  EXPECT_EQ(chunks[1].num_tokens, 3);
  EXPECT_EQ(mid->num_computed, mid_before + 3);
}

}  // namespace
}  // namespace kvtier::engine
