#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "kv/offload/eviction_policy.h"
#include "kv/offload/lru_policy.h"

namespace kvtier::kv {
namespace {

auto any_block = [](uint64_t) { return true; };

std::vector<uint64_t> order_of(const LruPolicy& lru) {
  return {lru.order().begin(), lru.order().end()};
}

TEST(LruPolicy, EvictsInInsertionOrderWithoutTouches) {
  LruPolicy lru;
  for (uint64_t h : {10, 20, 30, 40}) lru.insert(h);
  EXPECT_EQ(lru.evict(any_block), 10u);
  EXPECT_EQ(lru.evict(any_block), 20u);
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_FALSE(lru.contains(10));
  EXPECT_TRUE(lru.contains(30));
}

TEST(LruPolicy, TouchMakesMostRecent) {
  LruPolicy lru;
  for (uint64_t h : {1, 2, 3}) lru.insert(h);
  lru.touch(1);
  EXPECT_EQ(order_of(lru), (std::vector<uint64_t>{2, 3, 1}));
  EXPECT_EQ(lru.evict(any_block), 2u);
  lru.touch(3);
  EXPECT_EQ(lru.evict(any_block), 1u);
  EXPECT_EQ(lru.evict(any_block), 3u);
  EXPECT_EQ(lru.evict(any_block), std::nullopt);
}

TEST(LruPolicy, TouchOfAbsentHashIsIgnored) {
  LruPolicy lru;
  lru.insert(5);
  lru.touch(99);
  EXPECT_FALSE(lru.contains(99));
  EXPECT_EQ(lru.size(), 1u);
}

TEST(LruPolicy, SkipsBlocksThatCannotBeEvicted) {
  LruPolicy lru;
  for (uint64_t h : {1, 2, 3, 4}) lru.insert(h);
  std::set<uint64_t> pinned = {1, 2};
  auto unpinned = [&](uint64_t h) { return !pinned.contains(h); };
  EXPECT_EQ(lru.evict(unpinned), 3u);
  EXPECT_EQ(lru.evict(unpinned), 4u);
  EXPECT_EQ(lru.evict(unpinned), std::nullopt);
  // Pinned blocks keep their place: once released they are the oldest.
  EXPECT_EQ(order_of(lru), (std::vector<uint64_t>{1, 2}));
  pinned.clear();
  EXPECT_EQ(lru.evict(unpinned), 1u);
}

TEST(LruPolicy, EraseDropsWithoutEviction) {
  LruPolicy lru;
  for (uint64_t h : {1, 2, 3}) lru.insert(h);
  lru.erase(1);
  lru.erase(42);
  EXPECT_EQ(order_of(lru), (std::vector<uint64_t>{2, 3}));
}

TEST(EvictionPolicy, ParsesNamesAndBuildsEachKind) {
  EXPECT_EQ(parse_eviction_policy("lru"), EvictionPolicyKind::kLru);
  EXPECT_EQ(parse_eviction_policy("arc"), EvictionPolicyKind::kArc);
  EXPECT_EQ(parse_eviction_policy("LRU"), std::nullopt);
  EXPECT_EQ(parse_eviction_policy("lfu"), std::nullopt);
  EXPECT_STREQ(eviction_policy_name(EvictionPolicyKind::kArc), "arc");
  for (auto kind : {EvictionPolicyKind::kLru, EvictionPolicyKind::kArc}) {
    auto policy = make_eviction_policy(kind, 4);
    policy->insert(1);
    policy->insert(2);
    EXPECT_EQ(policy->size(), 2u);
    EXPECT_EQ(policy->evict(any_block), 1u) << eviction_policy_name(kind);
  }
}

}  // namespace
}  // namespace kvtier::kv
