#include "kv/block_pool.h"

#include <gtest/gtest.h>

#include <numeric>

#include "kv/block_test_sink.h"

namespace kvtier::kv {
namespace {

std::vector<int32_t> block_tokens(int32_t first, int32_t n = 4) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

TEST(BlockPool, StartsWithEveryBlockFreeInIdOrder) {
  BlockPool pool(5, 4);
  EXPECT_EQ(pool.num_free(), 5);
  EXPECT_EQ(pool.free_queue(), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(pool.allocate(), 0);
  EXPECT_EQ(pool.ref_count(0), 1);
  EXPECT_EQ(pool.num_free(), 4);
}

TEST(BlockPool, FreedCachedBlockStaysFindableUntilReused) {
  testing::RecordingEventSink sink;
  BlockPool pool(2, 4, &sink);
  const int32_t a = pool.allocate();
  ASSERT_TRUE(pool.cache(a, 42, block_tokens(0)));
  pool.release(a);
  EXPECT_EQ(pool.find(42, block_tokens(0)), a);
  EXPECT_TRUE(sink.removed.empty());

  const int32_t b = pool.allocate();  // the uncached block goes first
  EXPECT_NE(b, a);
  EXPECT_EQ(pool.find(42, block_tokens(0)), a);

  const int32_t c = pool.allocate();  // now the cached one is evicted
  EXPECT_EQ(c, a);
  EXPECT_EQ(pool.find(42, block_tokens(0)), -1);
  EXPECT_FALSE(pool.is_cached(a));
  ASSERT_EQ(sink.removed.size(), 1u);
  EXPECT_EQ(sink.removed[0].block_hashes, std::vector<uint64_t>{42});
  EXPECT_EQ(sink.removed[0].medium, "GPU");
}

TEST(BlockPool, HitIsConfirmedByTokenIds) {
  BlockPool pool(2, 4);
  const int32_t a = pool.allocate();
  ASSERT_TRUE(pool.cache(a, 7, block_tokens(10)));
  EXPECT_EQ(pool.find(7, block_tokens(10)), a);
  // Same key, other tokens: a hash collision is a miss, never a wrong hit.
  EXPECT_EQ(pool.find(7, block_tokens(11)), -1);
  EXPECT_EQ(pool.find(8, block_tokens(10)), -1);
}

TEST(BlockPool, SecondBlockWithTheSameKeyStaysUncached) {
  BlockPool pool(2, 4);
  const int32_t a = pool.allocate();
  const int32_t b = pool.allocate();
  ASSERT_TRUE(pool.cache(a, 5, block_tokens(0)));
  EXPECT_FALSE(pool.cache(b, 5, block_tokens(0)));
  EXPECT_FALSE(pool.is_cached(b));
  EXPECT_EQ(pool.find(5, block_tokens(0)), a);
}

TEST(BlockPool, EvictsLeastRecentlyUsedAndSequenceTailFirst) {
  BlockPool pool(6, 4);
  std::vector<int32_t> seq1, seq2;
  for (int i = 0; i < 3; ++i) seq1.push_back(pool.allocate());
  for (int i = 0; i < 3; ++i) seq2.push_back(pool.allocate());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.cache(seq1[size_t(i)], 100 + i, block_tokens(i)));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(pool.cache(seq2[size_t(i)], 200 + i, block_tokens(9 + i)));
  // seq1 finishes first, then seq2; each releases its blocks last to first.
  for (auto it = seq1.rbegin(); it != seq1.rend(); ++it) pool.release(*it);
  for (auto it = seq2.rbegin(); it != seq2.rend(); ++it) pool.release(*it);
  EXPECT_EQ(pool.free_queue(),
            (std::vector<int32_t>{seq1[2], seq1[1], seq1[0], seq2[2], seq2[1], seq2[0]}));
  // A hit on seq1's head refreshes it: it leaves the queue and returns at the tail.
  pool.acquire(seq1[0]);
  pool.release(seq1[0]);
  EXPECT_EQ(pool.allocate(), seq1[2]);
  EXPECT_EQ(pool.allocate(), seq1[1]);
  EXPECT_EQ(pool.allocate(), seq2[2]);
  EXPECT_EQ(pool.find(100, block_tokens(0)), seq1[0]);
}

TEST(BlockPool, UncachedFreedBlocksAreReusedBeforeCachedOnes) {
  BlockPool pool(3, 4);
  const int32_t a = pool.allocate();
  const int32_t b = pool.allocate();
  const int32_t c = pool.allocate();
  ASSERT_TRUE(pool.cache(a, 1, block_tokens(0)));
  pool.release(a);
  pool.release(b);  // partial block, no key
  EXPECT_EQ(pool.free_queue(), (std::vector<int32_t>{b, a}));
  EXPECT_EQ(pool.allocate(), b);
  pool.release(c);
  EXPECT_EQ(pool.allocate(), c);
  EXPECT_EQ(pool.allocate(), a);
}

TEST(BlockPool, SharedBlockIsFreeOnlyAfterTheLastRelease) {
  BlockPool pool(2, 4);
  const int32_t a = pool.allocate();
  pool.acquire(a);
  EXPECT_EQ(pool.ref_count(a), 2);
  pool.release(a);
  EXPECT_EQ(pool.num_free(), 1);
  pool.release(a);
  EXPECT_EQ(pool.num_free(), 2);
}

TEST(BlockPool, NotReadyBlocksAreFindableAndBecomeReady) {
  BlockPool pool(2, 4);
  const int32_t a = pool.allocate();
  ASSERT_TRUE(pool.cache(a, 3, block_tokens(0), /*ready=*/false));
  EXPECT_EQ(pool.find(3, block_tokens(0)), a);
  EXPECT_FALSE(pool.is_ready(a));
  pool.set_ready(a);
  EXPECT_TRUE(pool.is_ready(a));
}

}  // namespace
}  // namespace kvtier::kv
