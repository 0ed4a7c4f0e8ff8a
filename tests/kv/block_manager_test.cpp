#include "kv/block_manager.h"

#include <gtest/gtest.h>

#include <numeric>

#include "kv/block_hash.h"
#include "kv/block_test_sink.h"

namespace kvtier::kv {
namespace {

constexpr int32_t kBs = 4;

std::vector<int32_t> tokens_from(int32_t first, int32_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

struct Seq {
  std::vector<int32_t> tokens;
  SeqBlocks kv;
  explicit Seq(std::vector<int32_t> t) : tokens(std::move(t)) {
    extend_block_hashes(kv.hashes, tokens, kBs);
  }
};

BlockManager make(int32_t blocks, KvEventSink* sink = nullptr, bool caching = true) {
  return BlockManager(BlockManager::Options{blocks, kBs, caching, sink});
}

// Allocates for all tokens, then marks every full block computed.
void run_prefill(BlockManager& m, Seq& s) {
  PrefixMatch match;
  m.match_prefix(s.kv.hashes, s.tokens, int32_t(s.tokens.size() - 1) / kBs, match);
  auto plan = m.prepare(s.kv, int32_t(s.tokens.size()), &match);
  ASSERT_TRUE(plan.has_value());
  m.apply(s.kv, *plan, &match);
  m.cache_full_blocks(s.kv, s.tokens, int32_t(s.tokens.size()) / kBs);
}

TEST(BlockManager, RefusedPlanChangesNothing) {
  auto m = make(3);
  Seq s(tokens_from(0, 16));
  auto before = m.pool().free_queue();
  EXPECT_FALSE(m.prepare(s.kv, 16).has_value());  // needs 4 blocks, 3 exist
  EXPECT_EQ(m.pool().free_queue(), before);
  EXPECT_TRUE(s.kv.table.empty());
  auto plan = m.prepare(s.kv, 12);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->num_new_blocks, 3);
  m.apply(s.kv, *plan);
  EXPECT_EQ(s.kv.table.size(), 3u);
  EXPECT_EQ(m.num_free_blocks(), 0);
  EXPECT_DOUBLE_EQ(m.usage(), 1.0);
}

TEST(BlockManager, GrowsOnlyAtBlockBoundaries) {
  auto m = make(4);
  Seq s(tokens_from(0, 5));
  m.apply(s.kv, *m.prepare(s.kv, 5));
  EXPECT_EQ(s.kv.table.size(), 2u);
  EXPECT_EQ(m.prepare(s.kv, 8)->num_new_blocks, 0);
  EXPECT_EQ(m.prepare(s.kv, 9)->num_new_blocks, 1);
}

TEST(BlockManager, SecondSequenceHitsTheSharedPrefix) {
  testing::RecordingEventSink sink;
  auto m = make(10, &sink);
  Seq a(tokens_from(0, 10));  // blocks [0..3] [4..7] partial [8, 9]
  run_prefill(m, a);
  ASSERT_EQ(sink.stored.size(), 1u);
  EXPECT_EQ(sink.stored[0].block_hashes, (std::vector<uint64_t>{a.kv.hashes[0], a.kv.hashes[1]}));
  EXPECT_FALSE(sink.stored[0].parent_block_hash.has_value());
  EXPECT_EQ(sink.stored[0].token_ids, tokens_from(0, 8));
  EXPECT_EQ(sink.stored[0].block_size, kBs);
  EXPECT_EQ(sink.stored[0].medium, "GPU");

  auto b_tokens = tokens_from(0, 8);
  b_tokens.push_back(50);
  b_tokens.push_back(51);
  b_tokens.push_back(52);
  Seq b(b_tokens);
  PrefixMatch match;
  m.match_prefix(b.kv.hashes, b.tokens, 2, match);
  ASSERT_EQ(match.blocks.size(), 2u);
  EXPECT_EQ(match.blocks[0], a.kv.table[0]);
  EXPECT_EQ(match.blocks[1], a.kv.table[1]);
  auto plan = m.prepare(b.kv, int32_t(b.tokens.size()), &match);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->num_new_blocks, 1);
  EXPECT_EQ(plan->num_revived, 0);  // still referenced by a
  m.apply(b.kv, *plan, &match);
  EXPECT_EQ(m.pool().ref_count(a.kv.table[0]), 2);
  EXPECT_EQ(b.kv.num_hashed, 2);
}

TEST(BlockManager, MatchStopsAtFirstMissAndAtTheLimit) {
  auto m = make(10);
  Seq a(tokens_from(0, 12));
  run_prefill(m, a);
  auto t = tokens_from(0, 12);
  t[5] = 1000;  // second block differs
  Seq b(t);
  PrefixMatch match;
  m.match_prefix(b.kv.hashes, b.tokens, 3, match);
  EXPECT_EQ(match.blocks.size(), 1u);
  Seq c(tokens_from(0, 12));
  m.match_prefix(c.kv.hashes, c.tokens, 2, match);
  EXPECT_EQ(match.blocks.size(), 2u);
}

TEST(BlockManager, RevivingFreeCachedBlocksCountsAgainstFreeBlocks) {
  auto m = make(4);
  Seq a(tokens_from(0, 8));
  run_prefill(m, a);
  m.free(a.kv);
  EXPECT_EQ(m.num_free_blocks(), 4);
  Seq b(tokens_from(0, 12));
  PrefixMatch match;
  m.match_prefix(b.kv.hashes, b.tokens, 2, match);
  ASSERT_EQ(match.blocks.size(), 2u);
  auto plan = m.prepare(b.kv, 12, &match);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->num_revived, 2);
  EXPECT_EQ(plan->num_new_blocks, 1);
  // 2 revived + 3 new = 5 > 4 free blocks: refused.
  EXPECT_FALSE(m.prepare(b.kv, 20, &match).has_value());
  m.apply(b.kv, *plan, &match);
  EXPECT_EQ(m.num_free_blocks(), 1);
}

TEST(BlockManager, FreeReleasesTailFirst) {
  auto m = make(4);
  Seq a(tokens_from(0, 12));
  run_prefill(m, a);
  m.free(a.kv);
  // The never-used block 3 is first; then a's blocks 0, 1, 2 from its last to its first.
  EXPECT_EQ(m.pool().free_queue(), (std::vector<int32_t>{3, 2, 1, 0}));
}

TEST(BlockManager, DuplicateBlocksStayUnkeyedAndEventsSkipThem) {
  testing::RecordingEventSink sink;
  auto m = make(8, &sink);
  Seq a(tokens_from(0, 8));
  Seq b(tokens_from(0, 8));
  // Both admitted before either computed anything: no sharing.
  m.apply(a.kv, *m.prepare(a.kv, 8));
  m.apply(b.kv, *m.prepare(b.kv, 8));
  m.cache_full_blocks(a.kv, a.tokens, 2);
  std::vector<int32_t> newly;
  m.cache_full_blocks(b.kv, b.tokens, 2, true, &newly);
  EXPECT_TRUE(newly.empty());
  EXPECT_EQ(b.kv.num_hashed, 2);
  EXPECT_EQ(sink.stored.size(), 1u);
  EXPECT_FALSE(m.pool().is_cached(b.kv.table[0]));
}

TEST(BlockManager, EventsCarryTheParentOfTheFirstNewBlock) {
  testing::RecordingEventSink sink;
  auto m = make(8, &sink);
  Seq a(tokens_from(0, 12));
  m.apply(a.kv, *m.prepare(a.kv, 12));
  m.cache_full_blocks(a.kv, a.tokens, 1);
  m.cache_full_blocks(a.kv, a.tokens, 3);
  ASSERT_EQ(sink.stored.size(), 2u);
  EXPECT_EQ(sink.stored[1].parent_block_hash, a.kv.hashes[0]);
  EXPECT_EQ(sink.stored[1].block_hashes, (std::vector<uint64_t>{a.kv.hashes[1], a.kv.hashes[2]}));
  EXPECT_EQ(sink.stored[1].token_ids, tokens_from(4, 8));
}

TEST(BlockManager, WithoutPrefixCachingNothingIsShared) {
  testing::RecordingEventSink sink;
  auto m = make(8, &sink, /*caching=*/false);
  Seq a(tokens_from(0, 8));
  run_prefill(m, a);
  Seq b(tokens_from(0, 8));
  PrefixMatch match;
  m.match_prefix(b.kv.hashes, b.tokens, 2, match);
  EXPECT_TRUE(match.blocks.empty());
  EXPECT_TRUE(sink.stored.empty());
  EXPECT_EQ(m.pool().num_cached(), 0);
}

TEST(BlockManager, SaltedSequencesDoNotShare) {
  auto m = make(8);
  Seq a(tokens_from(0, 8));
  run_prefill(m, a);
  Seq b(tokens_from(0, 8));
  b.kv.hashes = hash_token_blocks(b.tokens, kBs, "other-tenant");
  PrefixMatch match;
  m.match_prefix(b.kv.hashes, b.tokens, 2, match);
  EXPECT_TRUE(match.blocks.empty());
}

}  // namespace
}  // namespace kvtier::kv
