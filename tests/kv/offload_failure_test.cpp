// Failed transfers in the CPU offload tier: a failed store never becomes a hit and gives its
// slots back, a failed load is reported as failed and drops the blocks it read, and both are
// counted; with real copy workers too (FailingTransfer over the CPU transfer).
#include <algorithm>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "kv/offload/cpu_transfer.h"
#include "kv/offload/failure_log.h"
#include "kv/offload/offload_connector.h"
#include "offload_fakes.h"

namespace kvtier::kv {
namespace {

using testing::FailingTransfer;
using testing::FakePool;
using State = CpuOffloadConnector::BlockState;

OffloadConfig config_of(int32_t cpu_blocks, int32_t block_size = 16) {
  OffloadConfig config;
  config.num_cpu_blocks = cpu_blocks;
  config.block_size = block_size;
  return config;
}

// A tier of 4 CPU blocks of one GPU block each over 16 device blocks.
struct Tier : testing::GatedTier {
  Tier() : GatedTier(config_of(4), 16, 4) {}

  void store(uint64_t hash, int32_t block) {
    device.fill(block, hash);
    ASSERT_TRUE(tier->offer_store(hash, block)) << hash;
  }
  int32_t free_blocks() const {
    const ConnectorStats s = tier->stats();
    return s.num_blocks - s.num_used_blocks;
  }
  // Stores hashes [first, first + 4) from device blocks 8.. and checks that none evicted
  // anything: every slot of the tier was free.
  void fill_without_evicting(uint64_t first) {
    for (int32_t i = 0; i < 4; ++i) store(first + uint64_t(i), 8 + i);
    finish_all();
    EXPECT_EQ(tier->stats().evictions, 0u);
    EXPECT_EQ(free_blocks(), 0);
    for (int32_t i = 0; i < 4; ++i)
      EXPECT_EQ(tier->state(first + uint64_t(i)), State::kReady) << first + uint64_t(i);
  }
};

TEST(OffloadFailure, FailedStoreIsNeverAHitAndItsSlotsGoBackToTheFreePool) {
  Tier t;
  EXPECT_EQ(t.free_blocks(), 4);
  t.store(1, 0);
  t.store(2, 1);
  t.tier->poll();  // submits the batch
  const auto tickets = t.transfer->pending_tickets(TransferDirection::kStore);
  ASSERT_EQ(tickets.size(), 1u);
  t.transfer->fail(tickets[0]);
  KvConnector::Completed done = t.tier->poll();
  // The device blocks are released as on success...
  std::sort(done.stored_blocks.begin(), done.stored_blocks.end());
  EXPECT_EQ(done.stored_blocks, (std::vector<int32_t>{0, 1}));
  // ...but the tier holds nothing: no hit, no announcement, no slot taken.
  const uint64_t both[] = {1, 2};
  EXPECT_EQ(t.tier->lookup(both), 0);
  EXPECT_EQ(t.tier->state(1), State::kAbsent);
  EXPECT_EQ(t.tier->state(2), State::kAbsent);
  EXPECT_TRUE(t.sink.stored_hashes().empty());
  EXPECT_EQ(t.free_blocks(), 4);
  const ConnectorStats s = t.tier->stats();
  EXPECT_EQ(s.failed_stores, 1u);
  EXPECT_EQ(s.stores, 0u);
  EXPECT_EQ(s.store_bytes, 0u);
  EXPECT_EQ(s.stores_in_flight, 0);
  EXPECT_EQ(t.tier->policy().size(), 0u);

  // The four slots are free: four new blocks fit without an eviction.
  t.fill_without_evicting(10);
}

TEST(OffloadFailure, BlockOfAFailedStoreCanBeStoredAgain) {
  Tier t;
  t.store(1, 0);
  t.tier->poll();
  t.transfer->fail(t.transfer->pending_tickets(TransferDirection::kStore).at(0));
  t.tier->poll();
  t.store(1, 0);  // offered again (the prefix was computed again): queued anew
  t.finish_all();
  EXPECT_EQ(t.tier->state(1), State::kReady);
  t.device.clear(5);
  const uint64_t one[] = {1};
  const int32_t dst[] = {5};
  const TransferId id = t.tier->start_load(one, dst);
  EXPECT_EQ(t.finish_all().loads, std::vector<TransferId>{id});
  EXPECT_TRUE(t.device.holds(5, 1));
}

TEST(OffloadFailure, FailedLoadIsReportedFailedAndDropsTheBlocksItRead) {
  Tier t;
  for (uint64_t h = 1; h <= 3; ++h) t.store(h, int32_t(h));
  t.finish_all();
  const uint64_t two[] = {1, 2};
  const int32_t dst[] = {8, 9};
  const TransferId id = t.tier->start_load(two, dst);
  EXPECT_EQ(t.tier->pins(1), 1);
  t.transfer->fail(id);
  const KvConnector::Completed done = t.tier->poll();
  EXPECT_TRUE(done.loads.empty());
  EXPECT_EQ(done.failed_loads, std::vector<TransferId>{id});
  // Dropped: not found any more, announced removed, their slots free again.
  EXPECT_EQ(t.tier->lookup(two), 0);
  EXPECT_EQ(t.tier->state(1), State::kAbsent);
  EXPECT_EQ(t.tier->state(2), State::kAbsent);
  EXPECT_EQ(t.tier->state(3), State::kReady);
  std::vector<uint64_t> removed = t.sink.removed_hashes();
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(t.free_blocks(), 3);
  const ConnectorStats s = t.tier->stats();
  EXPECT_EQ(s.failed_loads, 1u);
  EXPECT_EQ(s.loads, 0u);
  EXPECT_EQ(s.loaded_blocks, 0u);
  EXPECT_EQ(s.loads_in_flight, 0);
  // Block 3 was not read: it still serves hits, and the freed slots take new blocks.
  const uint64_t three[] = {3};
  EXPECT_EQ(t.tier->lookup(three), 1);
  t.store(20, 12);
  t.store(21, 13);
  t.store(22, 14);
  t.finish_all();
  EXPECT_EQ(t.tier->stats().evictions, 0u);
  EXPECT_EQ(t.free_blocks(), 0);
}

TEST(OffloadFailure, SlotReadByAnotherLoadIsFreedOnlyWhenThatLoadEnds) {
  Tier t;
  t.store(1, 0);
  t.finish_all();
  const uint64_t one[] = {1};
  const int32_t first[] = {8};
  const int32_t second[] = {9};
  const TransferId a = t.tier->start_load(one, first);
  const TransferId b = t.tier->start_load(one, second);
  EXPECT_EQ(t.tier->pins(1), 2);
  t.transfer->fail(a);
  KvConnector::Completed done = t.tier->poll();
  EXPECT_EQ(done.failed_loads, std::vector<TransferId>{a});
  // Not found from now on, but its slot is still being read by b.
  EXPECT_EQ(t.tier->lookup(one), 0);
  EXPECT_EQ(t.tier->pins(1), 1);
  EXPECT_EQ(t.free_blocks(), 3);
  // Offered again while dropped: not queued (the slot is not free yet).
  t.device.fill(2, 1);
  EXPECT_FALSE(t.tier->offer_store(1, 2));
  t.transfer->complete(b);
  done = t.tier->poll();
  EXPECT_EQ(done.loads, std::vector<TransferId>{b});
  EXPECT_EQ(t.tier->pins(1), 0);
  EXPECT_EQ(t.free_blocks(), 4);
  EXPECT_EQ(t.sink.removed_hashes(), std::vector<uint64_t>{1});  // announced once
  t.fill_without_evicting(30);
}

TEST(OffloadFailure, FailedGroupStoreDropsTheWholeCpuBlock) {
  // CPU blocks of 4 GPU blocks: a failed store of a group leaves none of it.
  testing::GatedTier t(config_of(2, 64), 16, 8);
  std::vector<uint64_t> chain = {11, 12, 13, 14, 15, 16, 17, 18};
  std::vector<int32_t> table = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int32_t i = 0; i < 8; ++i) t.tier->offer_chain(chain, table, i);
  t.tier->poll();
  const auto tickets = t.transfer->pending_tickets(TransferDirection::kStore);
  ASSERT_EQ(tickets.size(), 1u);
  t.transfer->fail(tickets[0]);
  const KvConnector::Completed done = t.tier->poll();
  EXPECT_EQ(done.stored_blocks.size(), 8u);
  EXPECT_EQ(t.tier->lookup_chain(chain, 0), 0);
  EXPECT_EQ(t.tier->stats().num_used_blocks, 0);
  EXPECT_EQ(t.tier->stats().failed_stores, 1u);
}

// Real copy workers: the FailingTransfer lets the CPU transfer copy, then fails chosen batches.
TEST(OffloadFailure, RealWorkersFailedStoreAndLoadLeaveNoHitAndNoLeak) {
  FakePool device(8);
  auto cpu = create_cpu_block_transfer(device.pool(), 4, {.num_threads = 2});
  ASSERT_TRUE(cpu.has_value()) << cpu.error().to_string();
  auto failing = std::make_unique<FailingTransfer>(std::move(*cpu), device.pool(),
                                                   std::vector<int>{1}, std::vector<int>{1});
  FailingTransfer* transfer = failing.get();
  CpuOffloadConnector tier(config_of(4), device.pool(), std::move(failing), nullptr);

  const uint64_t hashes[] = {1, 2};
  device.fill(0, 1);
  device.fill(1, 2);
  ASSERT_TRUE(tier.offer_store(1, 0));
  ASSERT_TRUE(tier.offer_store(2, 1));
  tier.drain();
  KvConnector::Completed done = tier.poll();
  EXPECT_EQ(done.stored_blocks.size(), 2u);
  EXPECT_EQ(tier.lookup(hashes), 0) << "the failed store's blocks were served as hits";
  EXPECT_EQ(tier.stats().num_used_blocks, 0);

  // Stored again (the second store succeeds), then the first load fails.
  ASSERT_TRUE(tier.offer_store(1, 0));
  ASSERT_TRUE(tier.offer_store(2, 1));
  tier.drain();
  tier.poll();
  ASSERT_EQ(tier.lookup(hashes), 2);
  const int32_t dst[] = {6, 7};
  const TransferId id = tier.start_load(hashes, dst);
  tier.drain();
  done = tier.poll();
  EXPECT_TRUE(done.loads.empty());
  EXPECT_EQ(done.failed_loads, std::vector<TransferId>{id});
  EXPECT_EQ(tier.lookup(hashes), 0);
  EXPECT_EQ(tier.stats().num_used_blocks, 0);
  EXPECT_EQ(tier.stats().failed_stores, 1u);
  EXPECT_EQ(tier.stats().failed_loads, 1u);
  EXPECT_EQ(transfer->failed, 2);
}

// A clock the test sets.
class ManualClock final : public Clock {
 public:
  double now() override { return t; }
  double t = 100.0;
};

TEST(OffloadFailure, LogWritesAtMostOneLineASecondPerDirection) {
  ManualClock clock;
  TransferFailureLog log(clock);
  const Status why = internal_error("injected");
  log.failed(TransferDirection::kStore, 1, 2, why, "dropped");
  log.failed(TransferDirection::kLoad, 2, 2, why, "dropped");  // the other direction: logged
  EXPECT_EQ(log.lines(), 2);
  for (int i = 0; i < 50; ++i) {  // a failure every step for half a second: held back
    clock.t += 0.01;
    log.failed(TransferDirection::kStore, uint64_t(3 + i), 2, why, "dropped");
  }
  EXPECT_EQ(log.lines(), 2);
  clock.t += 1.0;
  log.failed(TransferDirection::kStore, 60, 2, why, "dropped");
  EXPECT_EQ(log.lines(), 3);
}

}  // namespace
}  // namespace kvtier::kv
