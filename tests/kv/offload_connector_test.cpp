#include "kv/offload/offload_connector.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "kv/offload/arc_policy.h"
#include "kv/offload/factory.h"
#include "offload_fakes.h"

namespace kvtier::kv {
namespace {

using testing::FakePool;
using testing::GatedTransfer;
using testing::RecordingSink;
using State = CpuOffloadConnector::BlockState;

OffloadConfig tier_config(int32_t cpu_blocks, EvictionPolicyKind policy, KvRole role) {
  OffloadConfig config;
  config.num_cpu_blocks = cpu_blocks;
  config.eviction_policy = policy;
  config.role = role;
  return config;
}

// A tier of one GPU block per CPU block.
struct Tier : testing::GatedTier {
  explicit Tier(int32_t cpu_blocks, EvictionPolicyKind policy = EvictionPolicyKind::kLru,
                KvRole role = KvRole::kBoth, int32_t device_blocks = 16)
      : GatedTier(tier_config(cpu_blocks, policy, role), device_blocks, cpu_blocks) {}

  // Offers `hash` from device block `block` filled from the hash.
  void store(uint64_t hash, int32_t block) {
    device.fill(block, hash);
    ASSERT_TRUE(tier->offer_store(hash, block)) << hash;
  }
};

TEST(OffloadConnector, StoredBlockLoadsBackBitIdenticalThroughTheFactory) {
  FakePool device(8);
  OffloadOptions options;
  options.kv_transfer_config =
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both","kv_connector_extra_config":{"num_cpu_blocks":4}})";
  auto created = create_offload_connector(options, device.pool());
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  ASSERT_NE(*created, nullptr);
  KvConnector& tier = **created;

  const uint64_t hashes[] = {0xabc, 0xdef};
  device.fill(0, hashes[0]);
  device.fill(1, hashes[1]);
  ASSERT_TRUE(tier.offer_store(hashes[0], 0));
  ASSERT_TRUE(tier.offer_store(hashes[1], 1));
  EXPECT_EQ(tier.lookup(hashes), 0);  // queued, not stored yet
  tier.drain();
  auto done = tier.poll();
  std::sort(done.stored_blocks.begin(), done.stored_blocks.end());
  EXPECT_EQ(done.stored_blocks, (std::vector<int32_t>{0, 1}));
  ASSERT_EQ(tier.lookup(hashes), 2);

  device.clear(0);
  device.clear(1);
  const int32_t dst[] = {6, 7};
  const TransferId id = tier.start_load(hashes, dst);
  tier.drain();
  done = tier.poll();
  EXPECT_EQ(done.loads, std::vector<TransferId>{id});
  EXPECT_TRUE(device.holds(6, hashes[0]));
  EXPECT_TRUE(device.holds(7, hashes[1]));
  EXPECT_EQ(tier.stats().loaded_blocks, 2u);
  // vllm:kv_offload_size: one observation per transfer of both blocks, in vLLM's buckets.
  const ConnectorStats stats = tier.stats();
  for (const HistogramSnapshot* h : {&stats.store_sizes, &stats.load_sizes}) {
    EXPECT_EQ(h->bounds, kv_offload_size_buckets());
    EXPECT_EQ(h->count, 1u);
    EXPECT_EQ(h->sum, double(2 * device.block_bytes()));
    ASSERT_EQ(h->counts.size(), h->bounds.size() + 1);
    ASSERT_LT(2 * device.block_bytes(), 1'000'000u);  // so the first bucket (le 1e6)
    EXPECT_EQ(h->counts[0], 1u);
  }
}

TEST(OffloadConnector, FactoryReturnsNullWhenNothingIsConfiguredAndErrorsNameTheKey) {
  FakePool device(2);
  auto none = create_offload_connector({}, device.pool());
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, nullptr);
  OffloadOptions bad;
  bad.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both"})";
  auto missing = create_offload_connector(bad, device.pool());
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("num_cpu_blocks"), std::string::npos);
  OffloadOptions prompt_only;
  prompt_only.kv_offloading_size_gib = 0.001;
  prompt_only.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
                                   R"("kv_connector_extra_config":{"store_prompt_only":true}})";
  auto tier = create_offload_connector(prompt_only, device.pool());
  ASSERT_TRUE(tier.has_value()) << tier.error().to_string();
  EXPECT_TRUE((*tier)->store_prompt_only());
  EXPECT_EQ((*tier)->stats().num_blocks, int32_t((1 << 30) * 0.001 / device.block_bytes()));
}

TEST(OffloadConnector, RepeatedStoresOfOneHashCopyOnce) {
  Tier t(4);
  t.store(7, 0);
  EXPECT_FALSE(t.tier->offer_store(7, 1));  // same step
  t.tier->poll();
  ASSERT_EQ(t.transfer->pending_tickets(TransferDirection::kStore).size(), 1u);
  EXPECT_EQ(t.transfer->batch_size(t.transfer->pending_tickets(TransferDirection::kStore)[0]), 1u);
  EXPECT_FALSE(t.tier->offer_store(7, 2));  // in flight
  t.transfer->complete_all();
  t.tier->poll();
  EXPECT_FALSE(t.tier->offer_store(7, 3));  // held
  t.tier->poll();
  EXPECT_EQ(t.transfer->submitted(), 1);
  EXPECT_EQ(t.tier->stats().stored_blocks, 1u);
  EXPECT_EQ(t.tier->stats().num_used_blocks, 1);
}

TEST(OffloadConnector, PollSubmitsTheStepsStoresAsOneBatchAndNeverBeforeIt) {
  Tier t(8);
  for (uint64_t h = 1; h <= 5; ++h) t.store(h, int32_t(h));
  EXPECT_EQ(t.transfer->submitted(), 0);
  EXPECT_EQ(t.tier->stats().stores_in_flight, 5);
  t.tier->poll();
  auto tickets = t.transfer->pending_tickets(TransferDirection::kStore);
  ASSERT_EQ(tickets.size(), 1u);
  EXPECT_EQ(t.transfer->batch_size(tickets[0]), 5u);
  t.tier->poll();  // nothing new: no empty batch
  EXPECT_EQ(t.transfer->submitted(), 1);
}

TEST(OffloadConnector, LookupCountsLeadingReadyBlocksOnly) {
  Tier t(8);
  for (uint64_t h = 1; h <= 3; ++h) t.store(h, int32_t(h));
  t.finish_all();
  t.store(4, 4);  // queued, not ready
  const uint64_t all[] = {1, 2, 3, 4};
  EXPECT_EQ(t.tier->lookup(all), 3);
  const uint64_t gap[] = {1, 2, 99, 3};
  EXPECT_EQ(t.tier->lookup(gap), 2);
  const uint64_t miss_first[] = {99, 1};
  EXPECT_EQ(t.tier->lookup(miss_first), 0);
  EXPECT_EQ(t.tier->lookup({}), 0);
}

TEST(OffloadConnector, LookupAloneDoesNotChangeRecency) {
  Tier t(2);
  t.store(1, 1);
  t.finish_all();
  t.store(2, 2);
  t.finish_all();
  const uint64_t first[] = {1};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.tier->lookup(first), 1);
  t.store(3, 3);  // evicts the least recently used, lookups notwithstanding
  EXPECT_EQ(t.tier->state(2), State::kReady);
  EXPECT_EQ(t.tier->state(1), State::kAbsent);
}

TEST(OffloadConnector, EvictsLeastRecentlyUsedUnderPressureAndReportsIt) {
  Tier t(3);
  for (uint64_t h = 1; h <= 3; ++h) {  // one step each: 1 is the oldest
    t.store(h, int32_t(h));
    t.finish_all();
  }
  const uint64_t first[] = {1};
  const int32_t dst[] = {9};
  t.tier->start_load(first, dst);  // 1 is used: 2 is now the oldest
  t.finish_all();
  t.store(4, 4);
  EXPECT_EQ(t.tier->state(2), State::kAbsent);
  t.store(5, 5);
  EXPECT_EQ(t.tier->state(3), State::kAbsent);
  EXPECT_EQ(t.tier->state(1), State::kReady);
  t.finish_all();
  EXPECT_EQ(t.sink.removed_hashes(), (std::vector<uint64_t>{2, 3}));
  ASSERT_EQ(t.sink.removed.size(), 1u);  // one event per step
  EXPECT_EQ(t.sink.removed[0].medium, "CPU");
  EXPECT_EQ(t.tier->stats().evictions, 2u);
  EXPECT_EQ(t.tier->stats().num_used_blocks, 3);
  // The evicted blocks' slots were reused and hold the new blocks.
  const uint64_t fresh[] = {4, 5};
  const int32_t out[] = {12, 13};
  t.tier->start_load(fresh, out);
  t.finish_all();
  EXPECT_TRUE(t.device.holds(12, 4));
  EXPECT_TRUE(t.device.holds(13, 5));
}

TEST(OffloadConnector, OfferingAHeldBlockAgainCountsAsAUse) {
  Tier t(2);
  t.store(1, 1);
  t.finish_all();
  t.store(2, 2);
  t.finish_all();
  EXPECT_FALSE(t.tier->offer_store(1, 5));
  t.store(3, 3);
  EXPECT_EQ(t.tier->state(1), State::kReady);
  EXPECT_EQ(t.tier->state(2), State::kAbsent);
}

TEST(OffloadConnector, BlocksInFlightAreNeverEvicted) {
  Tier t(2);
  t.store(1, 1);
  t.finish_all();
  t.store(2, 2);
  t.tier->poll();  // 2 is being stored
  const uint64_t first[] = {1};
  const int32_t dst[] = {8};
  t.tier->start_load(first, dst);  // 1 is being loaded
  EXPECT_EQ(t.tier->pins(1), 1);
  EXPECT_FALSE(t.tier->offer_store(3, 3));  // nothing can go
  EXPECT_EQ(t.tier->state(3), State::kAbsent);
  EXPECT_EQ(t.tier->state(1), State::kReady);
  EXPECT_EQ(t.tier->state(2), State::kStoring);
  ASSERT_EQ(t.tier->stats().loads_in_flight, 1);
  ASSERT_EQ(t.tier->stats().stores_in_flight, 1);

  // The load finishes: 1 may go, 2 (still storing) may not.
  t.transfer->complete(t.transfer->pending_tickets(TransferDirection::kLoad)[0]);
  t.tier->poll();
  EXPECT_EQ(t.tier->pins(1), 0);
  EXPECT_TRUE(t.tier->offer_store(3, 3));
  EXPECT_EQ(t.tier->state(1), State::kAbsent);
  EXPECT_EQ(t.tier->state(2), State::kStoring);
  EXPECT_FALSE(t.tier->offer_store(4, 4));  // 2 storing, 3 queued
}

TEST(OffloadConnector, SharedLoadsPinUntilTheLastFinishes) {
  Tier t(2);
  t.store(1, 1);
  t.finish_all();
  const uint64_t first[] = {1};
  const int32_t a[] = {8}, b[] = {9};
  const TransferId la = t.tier->start_load(first, a);
  const TransferId lb = t.tier->start_load(first, b);
  EXPECT_NE(la, lb);
  EXPECT_EQ(t.tier->pins(1), 2);
  t.transfer->complete(la);
  auto done = t.tier->poll();
  EXPECT_EQ(done.loads, std::vector<TransferId>{la});
  EXPECT_EQ(t.tier->pins(1), 1);
  t.store(2, 2);
  EXPECT_FALSE(t.tier->offer_store(3, 3));  // 1 still pinned by the second load, 2 queued
  t.transfer->complete(lb);
  done = t.tier->poll();
  EXPECT_EQ(done.loads, std::vector<TransferId>{lb});
  EXPECT_TRUE(t.device.holds(8, 1));
  EXPECT_TRUE(t.device.holds(9, 1));
}

TEST(OffloadConnector, EvictionTakesChainsFromTheirTails) {
  Tier t(4);
  for (uint64_t h = 1; h <= 4; ++h) t.store(h, int32_t(h));  // one request's chain, in order
  t.finish_all();
  t.store(10, 10);
  EXPECT_EQ(t.tier->state(4), State::kAbsent);  // the tail goes first
  const uint64_t chain[] = {1, 2, 3, 4};
  EXPECT_EQ(t.tier->lookup(chain), 3);  // the head still matches
}

TEST(OffloadConnector, StatsCountBytesSecondsAndBlocksPerDirection) {
  Tier t(8);
  const size_t block = t.device.block_bytes();
  for (uint64_t h = 1; h <= 3; ++h) t.store(h, int32_t(h));
  t.tier->poll();
  EXPECT_EQ(t.tier->stats().stores_in_flight, 3);
  t.transfer->complete_all();
  auto done = t.tier->poll();
  EXPECT_EQ(done.stored_blocks.size(), 3u);
  const uint64_t two[] = {1, 2};
  const int32_t dst[] = {10, 11};
  t.tier->start_load(two, dst);
  EXPECT_EQ(t.tier->stats().loads_in_flight, 2);
  t.finish_all();
  const ConnectorStats s = t.tier->stats();
  EXPECT_EQ(s.num_blocks, 8);
  EXPECT_EQ(s.num_used_blocks, 3);
  EXPECT_EQ(s.stores_in_flight, 0);
  EXPECT_EQ(s.loads_in_flight, 0);
  EXPECT_EQ(s.store_bytes, 3 * block);
  EXPECT_EQ(s.load_bytes, 2 * block);
  EXPECT_DOUBLE_EQ(s.store_seconds, 0.5);  // GatedTransfer: 0.5 s per batch
  EXPECT_DOUBLE_EQ(s.load_seconds, 0.5);
  EXPECT_EQ(s.stores, 1u);
  EXPECT_EQ(s.loads, 1u);
  EXPECT_EQ(s.stored_blocks, 3u);
  EXPECT_EQ(s.loaded_blocks, 2u);
  EXPECT_EQ(s.evictions, 0u);
}

TEST(OffloadConnector, PublishesCpuEventsWhenStoresFinish) {
  Tier t(4);
  t.store(11, 1);
  t.store(12, 2);
  t.tier->poll();
  EXPECT_TRUE(t.sink.stored.empty());  // in flight: not yet announced
  t.transfer->complete_all();
  t.tier->poll();
  ASSERT_EQ(t.sink.stored.size(), 1u);
  const BlockStoredEvent& e = t.sink.stored[0];
  EXPECT_EQ(e.block_hashes, (std::vector<uint64_t>{11, 12}));
  EXPECT_EQ(e.parent_block_hash, std::nullopt);
  EXPECT_TRUE(e.token_ids.empty());
  EXPECT_EQ(e.block_size, 16);
  EXPECT_EQ(e.medium, "CPU");
  EXPECT_TRUE(t.sink.removed.empty());
}

TEST(OffloadConnector, ProducerOnlyStoresAndConsumerOnlyLoads) {
  Tier producer(4, EvictionPolicyKind::kLru, KvRole::kProducer);
  producer.store(1, 1);
  producer.finish_all();
  const uint64_t one[] = {1};
  EXPECT_EQ(producer.tier->state(1), State::kReady);
  EXPECT_EQ(producer.tier->lookup(one), 0);

  Tier consumer(4, EvictionPolicyKind::kLru, KvRole::kConsumer);
  EXPECT_FALSE(consumer.tier->offer_store(1, 1));
  EXPECT_EQ(consumer.tier->stats().num_used_blocks, 0);
}

TEST(OffloadConnector, RejectsOutOfRangeDeviceBlocksWithoutStateChange) {
  Tier t(4, EvictionPolicyKind::kLru, KvRole::kBoth, 4);
  EXPECT_FALSE(t.tier->offer_store(1, -1));
  EXPECT_FALSE(t.tier->offer_store(1, 4));
  EXPECT_EQ(t.tier->stats().num_used_blocks, 0);
  t.store(2, 0);
  t.finish_all();
  const uint64_t two[] = {2};
  const int32_t bad[] = {4};
  const TransferId id = t.tier->start_load(two, bad);
  EXPECT_EQ(t.tier->pins(2), 0);
  auto done = t.finish_all();
  // A block the tier could not load fails the load: it is never reported as done.
  EXPECT_TRUE(done.loads.empty());
  EXPECT_EQ(done.failed_loads, std::vector<TransferId>{id});
  EXPECT_EQ(t.tier->stats().failed_loads, 1u);
  EXPECT_EQ(t.tier->state(2), State::kReady);  // nothing read it
}

TEST(OffloadConnector, ArcPromotesLoadedBlocksToTheFrequentList) {
  Tier t(3, EvictionPolicyKind::kArc);
  for (uint64_t h = 1; h <= 3; ++h) t.store(h, int32_t(h));
  t.finish_all();
  const uint64_t one[] = {1};
  const int32_t dst[] = {9};
  t.tier->start_load(one, dst);
  t.finish_all();
  const auto& arc = dynamic_cast<const ArcPolicy&>(t.tier->policy());
  EXPECT_TRUE(arc.t2().contains(1));
  EXPECT_EQ(arc.t1().size(), 2u);
  // A scan of new blocks evicts the once-used ones and keeps the loaded one.
  for (uint64_t h = 20; h < 26; ++h) {
    t.store(h, int32_t(h % 8));
    t.finish_all();
  }
  EXPECT_EQ(t.tier->state(1), State::kReady);
  EXPECT_EQ(t.tier->state(2), State::kAbsent);
  EXPECT_EQ(t.tier->state(3), State::kAbsent);
}

}  // namespace
}  // namespace kvtier::kv
