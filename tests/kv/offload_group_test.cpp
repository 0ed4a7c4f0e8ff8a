// CPU blocks of several GPU blocks (kv_connector_extra_config block_size = k x the GPU block
// size): stores of whole groups, lookups and loads by sequence position, capacity and events
// counted in CPU blocks.
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "kv/offload/factory.h"
#include "kv/offload/offload_connector.h"
#include "offload_fakes.h"

namespace kvtier::kv {
namespace {

using testing::FakePool;
using testing::GatedTransfer;
using testing::RecordingSink;

// A sequence of `n` full blocks: chain[i] keys block i, held in device block table[i].
struct Sequence {
  Sequence(uint64_t seed, int32_t n, int32_t first_device_block) {
    for (int32_t i = 0; i < n; ++i) {
      chain.push_back(seed * 1000 + uint64_t(i) + 1);
      table.push_back(first_device_block + i);
    }
  }
  std::span<const uint64_t> prefix(int32_t n) const { return {chain.data(), size_t(n)}; }
  std::vector<uint64_t> chain;
  std::vector<int32_t> table;
};

OffloadConfig group_config(int32_t cpu_blocks, int32_t k) {
  OffloadConfig config;
  config.num_cpu_blocks = cpu_blocks;
  config.block_size = 16 * k;
  return config;
}

// A tier of `cpu_blocks` CPU blocks of k GPU blocks over a gated transfer.
struct GroupTier : testing::GatedTier {
  GroupTier(int32_t cpu_blocks, int32_t k, int32_t device_blocks = 64)
      : GatedTier(group_config(cpu_blocks, k), device_blocks, cpu_blocks * k) {}
  // Fills the sequence's device blocks from their hashes and offers every block in order.
  int32_t offer_all(const Sequence& s) {
    int32_t queued = 0;
    for (size_t i = 0; i < s.chain.size(); ++i) {
      device.fill(s.table[i], s.chain[i]);
      queued += tier->offer_chain(s.chain, s.table, int32_t(i)) ? 1 : 0;
    }
    return queued;
  }
};

TEST(OffloadGroups, StoresWholeGroupsAndLoadsThemBackBitIdenticalThroughTheFactory) {
  FakePool device(32);
  OffloadOptions options;
  options.kv_transfer_config =
      R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
      R"("kv_connector_extra_config":{"num_cpu_blocks":4,"block_size":64}})";
  auto created = create_offload_connector(options, device.pool());
  ASSERT_TRUE(created.has_value()) << created.error().to_string();
  auto* tier = dynamic_cast<CpuOffloadConnector*>(created->get());
  ASSERT_NE(tier, nullptr);
  EXPECT_EQ(tier->blocks_per_group(), 4);
  EXPECT_EQ(tier->stats().num_blocks, 4);  // CPU blocks
  EXPECT_EQ(tier->transfer().num_host_slots(), 16);

  const Sequence s(7, 10, 0);  // groups [0,4) and [4,8) full; blocks 8, 9 start a third
  for (int32_t i = 0; i < 10; ++i) {
    device.fill(s.table[size_t(i)], s.chain[size_t(i)]);
    EXPECT_EQ(tier->offer_chain(s.chain, s.table, i), i == 3 || i == 7) << i;
  }
  EXPECT_EQ(tier->stats().stores_in_flight, 8);
  tier->drain();
  auto done = tier->poll();
  std::sort(done.stored_blocks.begin(), done.stored_blocks.end());
  EXPECT_EQ(done.stored_blocks, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(tier->stats().num_used_blocks, 2);
  // A CPU block is its group's blocks side by side in host memory.
  const std::optional<int32_t> slot = tier->host_slot(s.chain[7]);
  ASSERT_TRUE(slot.has_value());
  for (int32_t j = 0; j < 4; ++j) {
    EXPECT_EQ(std::memcmp(tier->transfer().host_slot(*slot + j), device.pool().block(4 + j),
                          device.block_bytes()),
              0)
        << j;
  }

  // Load blocks 2..7 (the tail of group 0 and all of group 1) into fresh device blocks.
  EXPECT_EQ(tier->lookup_chain(s.chain, 2), 6);
  for (int32_t b = 0; b < 10; ++b) device.clear(b);
  const std::vector<int32_t> dst = {20, 21, 22, 23, 24, 25};
  const TransferId id = tier->start_load_chain(s.chain, 2, dst);
  EXPECT_EQ(tier->pins(s.chain[3]), 1);
  EXPECT_EQ(tier->pins(s.chain[7]), 1);
  tier->drain();
  done = tier->poll();
  EXPECT_EQ(done.loads, std::vector<TransferId>{id});
  for (int32_t i = 0; i < 6; ++i)
    EXPECT_TRUE(device.holds(dst[size_t(i)], s.chain[size_t(2 + i)])) << i;
  EXPECT_EQ(tier->pins(s.chain[3]), 0);
  EXPECT_EQ(tier->stats().loaded_blocks, 6u);
  EXPECT_EQ(tier->stats().load_bytes, 6 * device.block_bytes());
}

TEST(OffloadGroups, LookupsCountWholeGroupsOnly) {
  GroupTier t(4, 4);
  const Sequence s(3, 12, 0);
  EXPECT_EQ(t.offer_all(s), 3);
  EXPECT_EQ(t.tier->lookup_chain(s.chain, 0), 0);  // queued, not stored yet
  t.finish_all();
  EXPECT_EQ(t.tier->lookup_chain(s.chain, 0), 12);
  // A sequence that ends inside a group: that group is a miss, however much of it matches.
  EXPECT_EQ(t.tier->lookup_chain(s.prefix(11), 0), 8);
  EXPECT_EQ(t.tier->lookup_chain(s.prefix(7), 0), 4);
  EXPECT_EQ(t.tier->lookup_chain(s.prefix(3), 0), 0);
  EXPECT_EQ(t.tier->lookup_chain(s.prefix(7), 4), 0);
  // From inside a group: the rest of it, then whole groups.
  EXPECT_EQ(t.tier->lookup_chain(s.chain, 5), 7);
  EXPECT_EQ(t.tier->lookup_chain(s.prefix(10), 1), 7);
  EXPECT_EQ(t.tier->lookup_chain(s.chain, 12), 0);
  EXPECT_EQ(t.tier->lookup_chain(s.chain, -1), 0);
  // A sequence that shares the first group only.
  Sequence other(3, 8, 20);
  for (size_t i = 4; i < 8; ++i) other.chain[i] += 500;
  EXPECT_EQ(t.tier->lookup_chain(other.chain, 0), 4);
  EXPECT_EQ(t.tier->lookup_chain(other.chain, 2), 2);
}

TEST(OffloadGroups, PartialGroupsAreNeverStored) {
  GroupTier t(4, 4);
  const Sequence s(5, 3, 0);
  EXPECT_EQ(t.offer_all(s), 0);
  t.finish_all();
  EXPECT_EQ(t.transfer->submitted(), 0);
  EXPECT_EQ(t.tier->stats().num_used_blocks, 0);
  EXPECT_TRUE(t.sink.stored.empty());
  // The fourth block completes the group: all four go in one batch.
  const Sequence full(5, 4, 0);
  t.device.fill(3, full.chain[3]);
  EXPECT_TRUE(t.tier->offer_chain(full.chain, full.table, 3));
  t.tier->poll();
  ASSERT_EQ(t.transfer->pending_tickets(TransferDirection::kStore).size(), 1u);
  EXPECT_EQ(t.transfer->batch_size(t.transfer->pending_tickets(TransferDirection::kStore)[0]), 4u);
}

TEST(OffloadGroups, CapacityAndEvictionCountCpuBlocks) {
  GroupTier t(2, 4);
  const Sequence a(1, 4, 0), b(2, 4, 4), c(3, 4, 8);
  EXPECT_EQ(t.offer_all(a), 1);
  t.finish_all();
  EXPECT_EQ(t.offer_all(b), 1);
  t.finish_all();
  EXPECT_EQ(t.tier->stats().num_used_blocks, 2);
  EXPECT_EQ(t.offer_all(c), 1);  // the tier is full: a (least recent) goes
  const auto done = t.finish_all();
  EXPECT_EQ(done.stored_blocks.size(), 4u);
  EXPECT_EQ(t.tier->stats().evictions, 1u);
  EXPECT_EQ(t.tier->lookup_chain(a.chain, 0), 0);
  EXPECT_EQ(t.tier->lookup_chain(b.chain, 0), 4);
  EXPECT_EQ(t.tier->lookup_chain(c.chain, 0), 4);
  // Loading c restores exactly c's bytes into the slots a had.
  for (int32_t i = 0; i < 4; ++i) t.device.clear(8 + i);
  t.tier->start_load_chain(c.chain, 0, std::vector<int32_t>{30, 31, 32, 33});
  t.finish_all();
  for (int32_t i = 0; i < 4; ++i) EXPECT_TRUE(t.device.holds(30 + i, c.chain[size_t(i)])) << i;
}

TEST(OffloadGroups, EventsNameCpuBlocksByTheirLastGpuBlockHash) {
  GroupTier t(1, 4);
  const Sequence a(1, 8, 0), b(2, 4, 10);
  EXPECT_EQ(t.offer_all(a), 1);  // one CPU block: the second group finds no room while in flight
  t.finish_all();
  ASSERT_EQ(t.sink.stored.size(), 1u);
  EXPECT_EQ(t.sink.stored[0].block_hashes, (std::vector<uint64_t>{a.chain[3]}));
  EXPECT_EQ(t.sink.stored[0].block_size, 64);
  EXPECT_EQ(t.sink.stored[0].medium, "CPU");
  EXPECT_EQ(t.offer_all(b), 1);
  t.finish_all();
  ASSERT_EQ(t.sink.removed.size(), 1u);
  EXPECT_EQ(t.sink.removed[0].block_hashes, (std::vector<uint64_t>{a.chain[3]}));
  EXPECT_EQ(t.sink.removed[0].medium, "CPU");
  EXPECT_EQ(t.sink.stored_hashes(), (std::vector<uint64_t>{a.chain[3], b.chain[3]}));
}

TEST(OffloadGroups, LoadsPinTheirGroupsAgainstEviction) {
  GroupTier t(1, 4);
  const Sequence a(1, 4, 0), b(2, 4, 4);
  t.offer_all(a);
  t.finish_all();
  t.tier->start_load_chain(a.chain, 1, std::vector<int32_t>{20, 21, 22});
  EXPECT_EQ(t.offer_all(b), 0);  // a is being read: no room
  t.tier->poll();
  t.transfer->complete_all();
  t.tier->poll();
  EXPECT_EQ(t.tier->pins(a.chain[3]), 0);
  EXPECT_EQ(t.offer_all(b), 1);
}

TEST(OffloadGroups, CallsWithoutPositionsFindAndStoreNothing) {
  GroupTier t(4, 2);
  const Sequence s(9, 4, 0);
  t.offer_all(s);
  t.finish_all();
  ASSERT_EQ(t.tier->lookup_chain(s.chain, 0), 4);
  EXPECT_EQ(t.tier->lookup(s.chain), 0);
  EXPECT_FALSE(t.tier->offer_store(12345, 10));
  EXPECT_EQ(t.tier->stats().stores_in_flight, 0);
}

TEST(OffloadGroups, OneBlockGroupsBehaveLikeTheBlockCalls) {
  GroupTier t(8, 1);
  const Sequence s(4, 5, 0);
  EXPECT_EQ(t.offer_all(s), 5);
  t.finish_all();
  EXPECT_EQ(t.tier->lookup(s.chain), 5);
  EXPECT_EQ(t.tier->lookup_chain(s.chain, 2), 3);
  EXPECT_FALSE(t.tier->offer_store(s.chain[0], 0));  // held already
}

TEST(OffloadGroups, OffersOutsideTheSequenceAreRefused) {
  GroupTier t(4, 2);
  const Sequence s(6, 4, 0);
  EXPECT_FALSE(t.tier->offer_chain(s.chain, s.table, 4));
  EXPECT_FALSE(t.tier->offer_chain(s.chain, s.table, -1));
  std::vector<int32_t> bad = s.table;
  bad[0] = 1000;  // outside the device pool
  EXPECT_FALSE(t.tier->offer_chain(s.chain, bad, 1));
  EXPECT_EQ(t.tier->stats().stores_in_flight, 0);
  EXPECT_EQ(t.tier->stats().num_used_blocks, 0);
}

}  // namespace
}  // namespace kvtier::kv
