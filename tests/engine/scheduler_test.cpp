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

  Sequence* add(int32_t prompt_len, int32_t first_token = 0) {
    auto s = std::make_unique<Sequence>();
    s->id = fmt::format("s{}", seqs.size());
    s->tokens.resize(size_t(prompt_len));
    std::iota(s->tokens.begin(), s->tokens.end(), first_token);
    s->num_prompt = prompt_len;
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
};

TEST(Scheduler, ChunksLongPromptsWithinTheTokenBudget) {
  Fixture f(64, {8, 10, true});
  Sequence* a = f.add(25);
  auto c1 = f.run();
  ASSERT_EQ(c1.size(), 1u);
  EXPECT_EQ(c1[0].start, 0);
  EXPECT_EQ(c1[0].num_tokens, 10);
  EXPECT_FALSE(c1[0].want_logits);
  auto c2 = f.run();
  EXPECT_EQ(c2[0].start, 10);
  EXPECT_EQ(c2[0].num_tokens, 10);
  auto c3 = f.run();
  EXPECT_EQ(c3[0].num_tokens, 5);
  EXPECT_TRUE(c3[0].want_logits);
  EXPECT_EQ(a->num_computed, 25);
  EXPECT_EQ(a->kv.table.size(), 7u);  // 26 tokens need 7 blocks only at the next step
}

TEST(Scheduler, RunningDecodesComeBeforePrefills) {
  Fixture f(64, {8, 6, true});
  Sequence* a = f.add(3);
  f.run();  // a's prompt, first token
  Sequence* b = f.add(20);
  f.run();  // a decodes, b gets 5
  Sequence* c = f.add(4);
  auto chunks = f.run();
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].seq, a);  // the decode
  EXPECT_EQ(chunks[0].num_tokens, 1);
  EXPECT_EQ(chunks[1].seq, b);  // the running prefill takes the rest
  EXPECT_EQ(chunks[1].num_tokens, 5);
  EXPECT_EQ(c->state, SeqState::kWaiting);  // no budget left
}

TEST(Scheduler, MaxNumSeqsCapsTheRunningSet) {
  Fixture f(64, {2, 100, true});
  f.add(3);
  f.add(3);
  Sequence* c = f.add(3);
  auto chunks = f.run();
  EXPECT_EQ(chunks.size(), 2u);
  EXPECT_EQ(f.scheduler.num_running(), 2);
  EXPECT_EQ(c->state, SeqState::kWaiting);
}

TEST(Scheduler, WithoutChunkingAPromptWaitsForAWholeBudget) {
  Fixture f(64, {8, 10, false});
  f.add(6);
  Sequence* b = f.add(8);
  auto chunks = f.run();
  ASSERT_EQ(chunks.size(), 1u);  // 6 + 8 > 10 and b may not be split
  EXPECT_EQ(b->state, SeqState::kWaiting);
  chunks = f.run();
  EXPECT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[1].seq, b);
  EXPECT_EQ(chunks[1].num_tokens, 8);
}

TEST(Scheduler, PreemptsTheNewestAndRequeuesItFirst) {
  Fixture f(6, {8, 100, true});
  Sequence* a = f.add(7);  // 2 blocks
  Sequence* b = f.add(7, 100);
  Sequence* c = f.add(7, 200);
  Sequence* d = f.add(4, 300);
  f.run();  // all three start: 6 blocks used; d waits
  EXPECT_EQ(d->state, SeqState::kWaiting);
  EXPECT_EQ(f.scheduler.num_running(), 3);
  // Tokens 8 fit in 2 blocks; the next decode needs a third block for a.
  f.run();
  auto chunks = f.run();
  EXPECT_EQ(f.scheduler.counters().preemptions, 1u);
  EXPECT_EQ(c->state, SeqState::kWaiting);
  EXPECT_EQ(c->num_computed, 0);
  EXPECT_TRUE(c->kv.table.empty());
  EXPECT_EQ(f.scheduler.waiting().front(), c);  // ahead of d
  EXPECT_EQ(f.scheduler.waiting().back(), d);
  ASSERT_EQ(chunks.size(), 2u);  // a and b; nobody admitted in a step that preempted
  EXPECT_EQ(chunks[0].seq, a);
  EXPECT_EQ(chunks[1].seq, b);
}

TEST(Scheduler, RefusedAdmissionChangesNothing) {
  Fixture f(4, {8, 100, true});
  Sequence* a = f.add(11);  // 3 blocks, enough for its next decode too
  f.run();
  Sequence* b = f.add(8, 50);  // 2 blocks: only 1 free
  const int32_t free_before = f.blocks.num_free_blocks();
  auto chunks = f.run();
  EXPECT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].seq, a);
  EXPECT_EQ(b->state, SeqState::kWaiting);
  EXPECT_TRUE(b->kv.table.empty());
  EXPECT_EQ(b->num_computed, 0);
  EXPECT_EQ(f.blocks.num_free_blocks(), free_before);
}

TEST(Scheduler, FirstComeFirstServedHoldsLaterRequestsBack) {
  Fixture f(5, {8, 100, true});
  f.add(12);  // 3 blocks
  f.run();
  Sequence* big = f.add(12, 50);   // does not fit beside the first
  Sequence* small = f.add(3, 80);  // would fit, but must not pass the big one
  f.run();
  EXPECT_EQ(big->state, SeqState::kWaiting);
  EXPECT_EQ(small->state, SeqState::kWaiting);
}

TEST(Scheduler, AdmissionTakesOverTheCachedPrefix) {
  Fixture f(16, {8, 100, true});
  Sequence* a = f.add(10);
  f.run();
  f.blocks.cache_full_blocks(a->kv, a->tokens, 2);  // as the engine does after the step
  Sequence* b = f.add(10);                          // the same ten tokens
  auto next = f.run();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[1].seq, b);
  EXPECT_EQ(next[1].start, 8);  // two blocks from the cache
  EXPECT_EQ(b->cached_tokens, 8);
  EXPECT_EQ(b->kv.table[0], a->kv.table[0]);
  EXPECT_EQ(f.scheduler.counters().prefix_hits, 8u);
  EXPECT_EQ(f.scheduler.counters().prefix_queries, 20u);
}

TEST(Scheduler, FinishFreesBlocksWherever) {
  Fixture f(8, {8, 100, true});
  Sequence* a = f.add(5);
  Sequence* b = f.add(5, 10);
  f.run();
  Sequence* c = f.add(5, 20);
  f.scheduler.finish(a);
  f.scheduler.finish(c);  // still waiting
  EXPECT_EQ(f.scheduler.num_waiting(), 0);
  f.scheduler.remove_finished();
  EXPECT_EQ(f.scheduler.num_running(), 1);
  EXPECT_EQ(f.blocks.num_free_blocks(), 8 - int32_t(b->kv.table.size()));
}

}  // namespace
}  // namespace kvtier::engine
