#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "kv/offload/arc_policy.h"

namespace kvtier::kv {
namespace {

auto any_block = [](uint64_t) { return true; };

std::vector<uint64_t> list_of(const HashList& list) { return {list.begin(), list.end()}; }

// Stores `hash` the way the offload tier does: the policy learns of it first, then gives up a
// victim (never the new block, still in flight) when the tier is over capacity.
void store(ArcPolicy& arc, uint64_t hash) {
  arc.insert(hash);
  if (int64_t(arc.size()) > arc.capacity()) {
    ASSERT_TRUE(arc.evict([hash](uint64_t h) { return h != hash; }).has_value());
  }
}

TEST(ArcPolicy, NewBlocksEnterT1AndASecondUseMovesThemToT2) {
  ArcPolicy arc(4);
  arc.insert(1);
  arc.insert(2);
  EXPECT_EQ(list_of(arc.t1()), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(arc.t2().empty());
  arc.touch(1);
  EXPECT_EQ(list_of(arc.t1()), (std::vector<uint64_t>{2}));
  EXPECT_EQ(list_of(arc.t2()), (std::vector<uint64_t>{1}));
  arc.touch(1);  // already frequent: stays in T2
  EXPECT_EQ(list_of(arc.t2()), (std::vector<uint64_t>{1}));
  EXPECT_EQ(arc.size(), 2u);
}

TEST(ArcPolicy, RequeueKeepsTheListButChangesTheOrder) {
  ArcPolicy arc(4);
  for (uint64_t h : {1, 2, 3}) arc.insert(h);
  arc.requeue(1);
  EXPECT_EQ(list_of(arc.t1()), (std::vector<uint64_t>{2, 3, 1}));
  EXPECT_TRUE(arc.t2().empty());
  arc.touch(2);
  arc.touch(3);
  arc.requeue(2);
  EXPECT_EQ(list_of(arc.t2()), (std::vector<uint64_t>{3, 2}));
}

TEST(ArcPolicy, EvictsFromT1IntoGhostB1WhileTargetIsZero) {
  ArcPolicy arc(3);
  for (uint64_t h : {1, 2, 3}) arc.insert(h);
  arc.touch(3);  // 3 is frequent
  EXPECT_EQ(arc.target_t1(), 0);
  EXPECT_EQ(arc.evict(any_block), 1u);
  EXPECT_EQ(list_of(arc.b1()), (std::vector<uint64_t>{1}));
  EXPECT_EQ(arc.evict(any_block), 2u);
  // T1 is empty now: the frequent block goes, remembered in B2.
  EXPECT_EQ(arc.evict(any_block), 3u);
  EXPECT_EQ(list_of(arc.b1()), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(list_of(arc.b2()), (std::vector<uint64_t>{3}));
  EXPECT_EQ(arc.size(), 0u);
}

TEST(ArcPolicy, FrequentBlocksSurviveAScanOfOneTimeBlocks) {
  ArcPolicy arc(4);
  for (uint64_t h : {1, 2}) {
    store(arc, h);
    arc.touch(h);
  }
  for (uint64_t h = 100; h < 140; ++h) store(arc, h);  // a long scan, each block used once
  EXPECT_EQ(list_of(arc.t2()), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(list_of(arc.t1()), (std::vector<uint64_t>{138, 139}));
}

TEST(ArcPolicy, WithoutRepeatUseItEvictsLikeLru) {
  ArcPolicy arc(3);
  for (uint64_t h = 1; h <= 6; ++h) store(arc, h);
  EXPECT_EQ(list_of(arc.t1()), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_TRUE(arc.t2().empty());
}

TEST(ArcPolicy, GhostHitInB1GrowsTheRecencyTarget) {
  ArcPolicy arc(4);
  store(arc, 1);
  arc.touch(1);                                // T2 = {1}
  for (uint64_t h : {2, 3, 4}) store(arc, h);  // T1 = {2, 3, 4}
  store(arc, 5);                               // evicts 2 into B1
  ASSERT_EQ(list_of(arc.b1()), (std::vector<uint64_t>{2}));
  EXPECT_EQ(arc.target_t1(), 0);
  store(arc, 2);  // 2 comes back: T1 was too small
  EXPECT_EQ(arc.target_t1(), 1);
  EXPECT_EQ(list_of(arc.t2()),
            (std::vector<uint64_t>{1, 2}));                  // a returning block counts as frequent
  EXPECT_EQ(list_of(arc.b1()), (std::vector<uint64_t>{3}));  // the victim made room for it
}

TEST(ArcPolicy, GhostHitInB2ShrinksTheRecencyTarget) {
  ArcPolicy arc(2);
  store(arc, 1);
  arc.touch(1);   // T2 = {1}
  store(arc, 2);  // T1 = {2}
  store(arc, 3);  // evicts 2 into B1
  store(arc, 2);  // B1 hit: p = 1; T1 = {3} is not above p, so 1 goes from T2 into B2
  ASSERT_EQ(arc.target_t1(), 1);
  ASSERT_EQ(list_of(arc.b2()), (std::vector<uint64_t>{1}));
  ASSERT_EQ(list_of(arc.t1()), (std::vector<uint64_t>{3}));
  store(arc, 1);  // B2 hit: frequency deserved more room
  EXPECT_EQ(arc.target_t1(), 0);
  EXPECT_EQ(list_of(arc.t2()), (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(list_of(arc.b1()), (std::vector<uint64_t>{3}));  // p = 0: T1's block went
}

TEST(ArcPolicy, TargetGrowsByTheGhostListRatio) {
  ArcPolicy arc(4);
  for (uint64_t h : {1, 2, 3, 4}) {
    store(arc, h);
    arc.touch(h);
  }
  // Each new block used twice pushes one T2 block into B2.
  for (uint64_t h : {10, 11, 12}) {
    store(arc, h);
    arc.touch(h);
  }
  store(arc, 13);
  store(arc, 14);  // evicts 13, the only T1 block not in flight, into B1
  ASSERT_EQ(list_of(arc.b1()), (std::vector<uint64_t>{13}));
  ASSERT_EQ(arc.b2().size(), 3u);
  store(arc, 13);  // B1 hit: p grows by |B2| / |B1| = 3
  EXPECT_EQ(arc.target_t1(), 3);
}

TEST(ArcPolicy, SkipsBlocksInFlightAndFallsBackToTheOtherList) {
  ArcPolicy arc(4);
  for (uint64_t h : {1, 2, 3}) arc.insert(h);
  arc.touch(3);
  std::set<uint64_t> pinned = {1, 2};
  auto unpinned = [&](uint64_t h) { return !pinned.contains(h); };
  EXPECT_EQ(arc.evict(unpinned), 3u);  // T1 is preferred but all in flight: T2 gives way
  EXPECT_EQ(arc.evict(unpinned), std::nullopt);
  EXPECT_EQ(arc.size(), 2u);
}

TEST(ArcPolicy, EraseLeavesNoGhost) {
  ArcPolicy arc(4);
  arc.insert(1);
  arc.insert(2);
  arc.touch(2);
  arc.erase(1);
  arc.erase(2);
  EXPECT_EQ(arc.size(), 0u);
  EXPECT_TRUE(arc.b1().empty());
  EXPECT_TRUE(arc.b2().empty());
}

TEST(ArcPolicy, DirectoryStaysWithinArcBoundsUnderRandomUse) {
  const int64_t c = 16;
  ArcPolicy arc{int32_t(c)};
  std::mt19937_64 rng(7);
  int ghost_returns = 0;
  for (int i = 0; i < 20000; ++i) {
    // Mostly a hot set of 12, sometimes a cold range of 200: both lists and ghosts get used.
    const uint64_t h = rng() % 4 == 0 ? 100 + rng() % 200 : rng() % 12;
    if (arc.contains(h)) {
      arc.touch(h);
    } else {
      ghost_returns += arc.b1().contains(h) || arc.b2().contains(h);
      store(arc, h);
    }
    ASSERT_LE(int64_t(arc.size()), c);
    ASSERT_LE(int64_t(arc.t1().size() + arc.b1().size()), c);
    ASSERT_LE(int64_t(arc.size() + arc.b1().size() + arc.b2().size()), 2 * c);
    ASSERT_GE(arc.target_t1(), 0);
    ASSERT_LE(arc.target_t1(), c);
    for (uint64_t g : arc.b1()) ASSERT_FALSE(arc.contains(g));
    for (uint64_t g : arc.b2()) ASSERT_FALSE(arc.contains(g));
  }
  EXPECT_GT(ghost_returns, 100);
  // The hot set is what a frequency-aware cache keeps.
  int hot_resident = 0;
  for (uint64_t h = 0; h < 12; ++h) hot_resident += arc.contains(h);
  EXPECT_GE(hot_resident, 10);
}

}  // namespace
}  // namespace kvtier::kv
