#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kv/offload/cpu_transfer.h"
#include "kv/offload/transfer.h"
#include "offload_fakes.h"

namespace kvtier::kv {
namespace {

using testing::FakePool;
using testing::SteppingClock;

std::vector<TransferCompletion> wait_and_poll(BlockTransfer& t) {
  t.wait_all();
  std::vector<TransferCompletion> done;
  t.poll(done);
  return done;
}

TEST(CpuTransfer, StoresAndLoadsWholeBlocksBitExact) {
  FakePool device(8);
  auto transfer = create_cpu_block_transfer(device.pool(), 4, {.num_threads = 2});
  ASSERT_TRUE(transfer.has_value()) << transfer.error().to_string();
  BlockTransfer& t = **transfer;
  EXPECT_EQ(t.num_host_slots(), 4);
  EXPECT_EQ(t.block_bytes(), device.block_bytes());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.host_slot(0)) % 4096, 0u);

  for (int32_t b = 0; b < 3; ++b) device.fill(b, 100 + b);
  std::vector<BlockCopy> stores = {{0, 2}, {1, 0}, {2, 3}};
  const uint64_t ticket = t.submit(TransferDirection::kStore, stores);
  auto done = wait_and_poll(t);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].ticket, ticket);
  EXPECT_EQ(done[0].direction, TransferDirection::kStore);
  EXPECT_EQ(done[0].bytes, 3 * device.block_bytes());

  for (int32_t b = 0; b < 3; ++b) device.clear(b);
  std::vector<BlockCopy> loads = {{5, 2}, {6, 0}, {7, 3}};
  t.submit(TransferDirection::kLoad, loads);
  done = wait_and_poll(t);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].direction, TransferDirection::kLoad);
  EXPECT_TRUE(device.holds(5, 100));
  EXPECT_TRUE(device.holds(6, 101));
  EXPECT_TRUE(device.holds(7, 102));
}

TEST(CpuTransfer, SplitsLargeBatchesAcrossWorkersWithoutTearingBlocks) {
  // 3 blocks over 4 workers with ranges far below a block: every range boundary cuts a block.
  FakePool device(6);
  auto transfer =
      create_cpu_block_transfer(device.pool(), 6, {.num_threads = 4, .min_bytes_per_thread = 1000});
  ASSERT_TRUE(transfer.has_value());
  BlockTransfer& t = **transfer;
  for (int32_t b = 0; b < 3; ++b) device.fill(b, 7 * b + 1);
  std::vector<BlockCopy> stores = {{0, 5}, {1, 4}, {2, 3}};
  t.submit(TransferDirection::kStore, stores);
  ASSERT_EQ(wait_and_poll(t).size(), 1u);
  std::vector<BlockCopy> loads = {{3, 5}, {4, 4}, {5, 3}};
  t.submit(TransferDirection::kLoad, loads);
  ASSERT_EQ(wait_and_poll(t).size(), 1u);
  for (int32_t b = 0; b < 3; ++b) EXPECT_TRUE(device.holds(3 + b, 7 * b + 1)) << "block " << b;
}

TEST(CpuTransfer, ReportsEachBatchOnceWithIncreasingTickets) {
  FakePool device(4);
  auto transfer = create_cpu_block_transfer(device.pool(), 4, {.num_threads = 2});
  ASSERT_TRUE(transfer.has_value());
  BlockTransfer& t = **transfer;
  std::vector<uint64_t> tickets;
  for (int32_t i = 0; i < 20; ++i) {
    std::vector<BlockCopy> one = {{i % 4, (i + 1) % 4}};
    tickets.push_back(t.submit(i % 2 ? TransferDirection::kLoad : TransferDirection::kStore, one));
  }
  for (size_t i = 1; i < tickets.size(); ++i) EXPECT_GT(tickets[i], tickets[i - 1]);
  auto done = wait_and_poll(t);
  ASSERT_EQ(done.size(), tickets.size());
  std::vector<uint64_t> seen;
  for (const auto& d : done) seen.push_back(d.ticket);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, tickets);
  std::vector<TransferCompletion> again;
  t.poll(again);
  EXPECT_TRUE(again.empty());
}

TEST(CpuTransfer, EmptyBatchesCompleteAndInvalidCopiesFailWithoutTouchingMemory) {
  FakePool device(2);
  auto transfer = create_cpu_block_transfer(device.pool(), 2, {.num_threads = 1});
  ASSERT_TRUE(transfer.has_value());
  BlockTransfer& t = **transfer;
  device.fill(0, 7);
  std::memset(t.host_slot(0), 0, t.block_bytes());
  const uint64_t empty = t.submit(TransferDirection::kStore, {});
  // The first copy is valid: a batch is refused whole, never done in part.
  std::vector<BlockCopy> bad = {{0, 0}, {-1, 0}, {0, 2}, {2, 0}};
  const uint64_t invalid = t.submit(TransferDirection::kStore, bad);
  auto done = wait_and_poll(t);
  ASSERT_EQ(done.size(), 2u);
  for (const auto& d : done) {
    EXPECT_EQ(d.bytes, 0u);
    if (d.ticket == empty) {
      EXPECT_TRUE(d.ok()) << d.status.to_string();
      continue;
    }
    ASSERT_EQ(d.ticket, invalid);
    ASSERT_FALSE(d.ok());
    // The message names the batch and the copy that is wrong.
    EXPECT_NE(d.status.message().find("offload transfer " + std::to_string(invalid)),
              std::string::npos)
        << d.status.message();
    EXPECT_NE(d.status.message().find("device block -1"), std::string::npos)
        << d.status.message();
  }
  const std::vector<std::byte> zeros(t.block_bytes(), std::byte{0});
  EXPECT_EQ(std::memcmp(t.host_slot(0), zeros.data(), zeros.size()), 0);
}

TEST(CpuTransfer, TimesBatchesWithTheInjectedClock) {
  FakePool device(2);
  SteppingClock clock(0.25);
  auto transfer = create_cpu_block_transfer(device.pool(), 2, {.num_threads = 1, .clock = &clock});
  ASSERT_TRUE(transfer.has_value());
  std::vector<BlockCopy> copies = {{0, 0}, {1, 1}};
  (*transfer)->submit(TransferDirection::kStore, copies);
  auto done = wait_and_poll(**transfer);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_DOUBLE_EQ(done[0].seconds, 0.25);  // one worker reads the clock at start and at end
}

TEST(CpuTransfer, RejectsEmptyPoolsAndSlotCounts) {
  FakePool device(2);
  auto no_slots = create_cpu_block_transfer(device.pool(), 0);
  ASSERT_FALSE(no_slots.has_value());
  EXPECT_NE(no_slots.error().message().find("num_cpu_blocks"), std::string::npos);
  KvPool empty = device.pool();
  empty.num_blocks = 0;
  EXPECT_FALSE(create_cpu_block_transfer(empty, 2).has_value());
  auto too_many = create_cpu_block_transfer(device.pool(), 2, {.num_threads = 1000});
  ASSERT_FALSE(too_many.has_value());
  EXPECT_NE(too_many.error().message().find("threads"), std::string::npos);
}

TEST(CpuTransfer, ReportsAllocationFailureAsResourceExhausted) {
  // 2^31 - 1 slots of 1 GiB: more than any machine has.
  KvLayout huge;
  huge.num_layers = 1024;
  huge.num_kv_heads = 8;
  huge.head_dim = 128;
  huge.block_size = 128;
  huge.dtype_bytes = 4;
  FakePool device(1, testing::small_layout());
  KvPool pool = device.pool();
  pool.layout = huge;
  auto transfer = create_cpu_block_transfer(pool, 2147483647);
  ASSERT_FALSE(transfer.has_value());
  EXPECT_EQ(transfer.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(transfer.error().message().find("num_cpu_blocks 2147483647"), std::string::npos);
}

TEST(CpuTransfer, HostSlotsAreResidentFromCreation) {
  // A store must not fault fresh pages in while the model runs: every page is in memory already.
  FakePool device(2);
  auto transfer = create_cpu_block_transfer(device.pool(), 64);
  ASSERT_TRUE(transfer.has_value()) << transfer.error().to_string();
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t bytes = 64 * device.block_bytes();
  std::vector<unsigned char> resident((bytes + page - 1) / page);
  ASSERT_EQ(mincore((*transfer)->host_slot(0), bytes, resident.data()), 0);
  for (size_t i = 0; i < resident.size(); ++i) EXPECT_TRUE(resident[i] & 1) << "page " << i;
}

TEST(BlockTransfer, SelectsTheCpuImplementationForCpuPools) {
  FakePool device(2);
  auto transfer = create_block_transfer(device.pool(), 3);
  ASSERT_TRUE(transfer.has_value()) << transfer.error().to_string();
  EXPECT_EQ((*transfer)->num_host_slots(), 3);
#ifndef KVTIER_HAVE_CUDA
  KvPool cuda = device.pool();
  cuda.device = Device::kCuda;
  auto refused = create_block_transfer(cuda, 3);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnimplemented);
#endif
}

}  // namespace
}  // namespace kvtier::kv
