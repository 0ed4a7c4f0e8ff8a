// The engine's side of the second tier over the real CPU offload tier: which device blocks a
// store or load holds, for tiers of one and of several device blocks per block.
#include "engine/kv_tier.h"

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "kv/block_hash.h"
#include "kv/offload/offload_connector.h"
#include "kv/offload_fakes.h"

namespace kvtier::engine {
namespace {

constexpr int32_t kBs = 16;

// A block manager, a fake device pool of the same size and a tier of `k` blocks per CPU block.
struct Fixture {
  explicit Fixture(int32_t k, int32_t num_blocks = 32)
      : blocks(kv::BlockManager::Options{num_blocks, kBs, true, nullptr}), device(num_blocks) {
    kv::OffloadConfig config;
    config.num_cpu_blocks = 16;
    config.block_size = kBs * k;
    auto gated = std::make_unique<kv::testing::GatedTransfer>(device.pool(), 16 * k);
    transfer = gated.get();
    connector =
        std::make_unique<kv::CpuOffloadConnector>(config, device.pool(), std::move(gated), nullptr);
    tier = std::make_unique<KvTier>(*connector, blocks);
  }

  // A sequence of `n` full blocks of distinct tokens, allocated and keyed.
  kv::SeqBlocks sequence(int32_t n, int32_t seed) {
    kv::SeqBlocks seq;
    tokens.clear();
    for (int32_t i = 0; i < n * kBs; ++i) tokens.push_back(seed * 100000 + i);
    kv::extend_block_hashes(seq.hashes, tokens, kBs);
    auto plan = blocks.prepare(seq, n * kBs);
    EXPECT_TRUE(plan.has_value());
    blocks.apply(seq, *plan);
    blocks.cache_full_blocks(seq, tokens, n);
    return seq;
  }
  int32_t refs(int32_t id) const { return blocks.pool().ref_count(id); }

  kv::BlockManager blocks;
  kv::testing::FakePool device;
  kv::testing::GatedTransfer* transfer;
  std::unique_ptr<kv::CpuOffloadConnector> connector;
  std::unique_ptr<KvTier> tier;
  std::vector<int32_t> tokens;
};

TEST(KvTier, GroupStoresHoldAllTheirDeviceBlocksUntilStored) {
  Fixture f(4);
  EXPECT_EQ(f.tier->blocks_per_group(), 4);
  const kv::SeqBlocks seq = f.sequence(6, 1);
  for (int32_t i = 0; i < 6; ++i) f.tier->offer(seq, i);
  EXPECT_TRUE(f.tier->busy());
  for (int32_t i = 0; i < 6; ++i) EXPECT_EQ(f.refs(seq.table[size_t(i)]), i < 4 ? 2 : 1) << i;
  f.tier->poll();  // submits the group's store
  f.transfer->complete_all();
  const KvTier::PollResult r = f.tier->poll();
  EXPECT_TRUE(r.any_finished);
  EXPECT_FALSE(f.tier->busy());
  for (int32_t i = 0; i < 6; ++i) EXPECT_EQ(f.refs(seq.table[size_t(i)]), 1) << i;
  EXPECT_EQ(f.tier->lookup(seq, 0, 6), 4);
  EXPECT_EQ(f.tier->lookup(seq, 1, 6), 3);
  EXPECT_EQ(f.tier->lookup(seq, 0, 3), 0);  // the group does not fit in the blocks asked about
  EXPECT_EQ(f.tier->lookup(seq, 4, 6), 0);
}

TEST(KvTier, GroupLoadsFillTheTableFromAnyBlockOfAGroup) {
  Fixture f(4);
  const kv::SeqBlocks stored = f.sequence(8, 2);
  for (int32_t i = 0; i < 8; ++i) {
    f.device.fill(stored.table[size_t(i)], stored.hashes[size_t(i)]);
    f.tier->offer(stored, i);
  }
  f.tier->drain();
  // A second table for the same hashes: blocks 2..7 come back from the tier.
  kv::SeqBlocks again;
  again.hashes = stored.hashes;
  auto plan = f.blocks.prepare(again, 8 * kBs);
  ASSERT_TRUE(plan.has_value());
  f.blocks.apply(again, *plan);
  ASSERT_EQ(f.tier->lookup(again, 2, 8), 6);
  f.tier->start_load(again, 2, 6);
  EXPECT_EQ(f.tier->loads_in_flight(), 1);
  for (int32_t i = 2; i < 8; ++i) {
    EXPECT_FALSE(f.blocks.is_ready(again.table[size_t(i)])) << i;
    EXPECT_EQ(f.refs(again.table[size_t(i)]), 2) << i;
  }
  f.transfer->complete_all();
  EXPECT_TRUE(f.tier->poll().loads_finished);
  for (int32_t i = 2; i < 8; ++i) {
    EXPECT_TRUE(f.blocks.is_ready(again.table[size_t(i)])) << i;
    EXPECT_EQ(f.refs(again.table[size_t(i)]), 1) << i;
    EXPECT_TRUE(f.device.holds(again.table[size_t(i)], stored.hashes[size_t(i)])) << i;
  }
}

TEST(KvTier, OneBlockTiersStoreEachBlockAlone) {
  Fixture f(1);
  const kv::SeqBlocks seq = f.sequence(3, 3);
  f.tier->offer(seq, 0);
  f.tier->offer(seq, 1);
  EXPECT_EQ(f.refs(seq.table[0]), 2);
  EXPECT_EQ(f.refs(seq.table[1]), 2);
  f.tier->drain();
  EXPECT_EQ(f.refs(seq.table[0]), 1);
  EXPECT_EQ(f.tier->lookup(seq, 0, 3), 2);
  EXPECT_EQ(f.tier->lookup(seq, 1, 3), 1);
}

TEST(KvTier, FailedLoadInvalidatesItsBlocksAndNamesThem) {
  Fixture f(1, /*num_blocks=*/4);
  kv::SeqBlocks stored = f.sequence(4, 4);
  for (int32_t i = 0; i < 4; ++i) f.tier->offer(stored, i);
  f.tier->drain();
  f.blocks.free(stored);
  // The same blocks again (their old keys dropped on reuse), keyed but not ready, as the
  // scheduler leaves a sequence that waits for a load.
  kv::SeqBlocks again;
  again.hashes = stored.hashes;
  auto plan = f.blocks.prepare(again, 4 * kBs);
  ASSERT_TRUE(plan.has_value());
  f.blocks.apply(again, *plan);
  f.blocks.cache_full_blocks(again, f.tokens, 4, /*ready=*/false);
  for (int32_t id : again.table) ASSERT_TRUE(f.blocks.pool().key(id).has_value()) << id;
  f.tier->start_load(again, 0, 4);
  const auto tickets = f.transfer->pending_tickets(kv::TransferDirection::kLoad);
  ASSERT_EQ(tickets.size(), 1u);
  f.transfer->fail(tickets[0]);
  const KvTier::PollResult r = f.tier->poll();
  EXPECT_FALSE(r.loads_finished);
  EXPECT_TRUE(r.any_finished);
  EXPECT_EQ(r.failed_blocks, again.table);
  EXPECT_EQ(f.tier->loads_in_flight(), 0);
  for (int32_t id : again.table) {
    EXPECT_TRUE(f.blocks.is_ready(id)) << id;
    EXPECT_EQ(f.refs(id), 1) << id;  // the transfer's reference is gone, the sequence's stays
    EXPECT_FALSE(f.blocks.pool().key(id).has_value()) << id;
  }
  // The tier dropped what the failed load read.
  EXPECT_EQ(f.tier->lookup(again, 0, 4), 0);
}

}  // namespace
}  // namespace kvtier::engine
