// The CUDA BlockTransfer of the offload tier on a real CUDA KV pool: blocks stored to pinned host
// memory and loaded back are bit-identical, decoding from reloaded blocks gives the same logits,
// a store is ordered after work already queued on the compute stream, and bad or empty batches
// complete without copying.
#ifdef KVTIER_HAVE_CUDA
#include <chrono>
#include <cstring>
#include <thread>

#include "kernels/cuda/compute_stream.h"
#include "kernels/cuda/device_buffer.h"
#include "kv/offload/cuda/cuda_transfer.h"
#include "kv/offload/transfer.h"
#include "model/cuda_test_models.h"

namespace kvtier::model::cuda {
namespace {

using namespace testing;
using kv::BlockCopy;
using kv::TransferCompletion;
using kv::TransferDirection;

// Polls until `ticket` completes (the transfer itself never blocks); fails after 10 s.
TransferCompletion wait_for(kv::BlockTransfer& t, uint64_t ticket) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<TransferCompletion> done;
  while (std::chrono::steady_clock::now() < deadline) {
    done.clear();
    t.poll(done);
    for (const auto& c : done)
      if (c.ticket == ticket) return c;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ADD_FAILURE() << "transfer " << ticket << " did not complete in 10 s";
  return {};
}

std::vector<std::byte> device_bytes(const kv::KvPool& pool, int32_t block) {
  std::vector<std::byte> out(pool.layout.block_bytes());
  EXPECT_EQ(cudaMemcpy(out.data(), pool.block(block), out.size(), cudaMemcpyDeviceToHost),
            cudaSuccess);
  return out;
}

class CudaOffload : public CudaModelTest {};

TEST_F(CudaOffload, StoredAndReloadedBlocksAreBitIdentical) {
  auto r = make_cuda_runner(runner_options(test_model_dir("tiny"), "cuda", 64));
  ASSERT_TRUE(r);
  const kv::KvPool pool = r->kv_pool();
  const int32_t vocab = r->config().vocab_size;
  // A 70-token prompt fills blocks 0..4 (the last one partly).
  SeqBuilder b;
  Seq s = b.make(random_prompt(70, vocab, 3), 80);
  std::vector<float> logits;
  ASSERT_TRUE(r->forward({{chunk(s, 70)}}, logits).is_ok());
  s.computed = 70;
  s.tokens.push_back(argmax(logits));

  auto made = kv::create_block_transfer(pool, 8);
  ASSERT_TRUE(made.has_value()) << made.status().to_string();
  kv::BlockTransfer& t = **made;
  EXPECT_EQ(t.block_bytes(), pool.layout.block_bytes());
  // Out of order and not consecutive on the host side.
  const std::vector<BlockCopy> stores = {{3, 0}, {0, 5}, {1, 6}, {4, 2}, {2, 7}};
  const uint64_t st = t.submit(TransferDirection::kStore, stores);
  const TransferCompletion done = wait_for(t, st);
  EXPECT_EQ(done.direction, TransferDirection::kStore);
  EXPECT_EQ(done.bytes, stores.size() * pool.layout.block_bytes());
  EXPECT_GT(done.seconds, 0.0);
  for (const BlockCopy& c : stores) {
    auto dev = device_bytes(pool, c.device_block);
    EXPECT_EQ(std::memcmp(dev.data(), t.host_slot(c.host_slot), dev.size()), 0)
        << "block " << c.device_block;
  }

  // Load into fresh blocks 10..14 (zeroed first) and decode from them.
  std::vector<BlockCopy> loads;
  for (int32_t i = 0; i < 5; ++i) {
    ASSERT_EQ(cudaMemset(pool.block(10 + i), 0, pool.layout.block_bytes()), cudaSuccess);
    const auto it = std::find_if(stores.begin(), stores.end(),
                                 [&](const BlockCopy& c) { return c.device_block == i; });
    loads.push_back({10 + i, it->host_slot});
  }
  const uint64_t lt = t.submit(TransferDirection::kLoad, loads);
  EXPECT_GT(lt, st);
  EXPECT_EQ(wait_for(t, lt).bytes, 5 * pool.layout.block_bytes());
  for (int32_t i = 0; i < 5; ++i) EXPECT_EQ(device_bytes(pool, 10 + i), device_bytes(pool, i));

  Seq reloaded = s;
  for (int32_t i = 0; i < 5; ++i) reloaded.blocks[i] = 10 + i;
  reloaded.blocks[5] = 15;  // the next token's block
  std::vector<float> from_original, from_reloaded;
  ASSERT_TRUE(r->forward({{chunk(s, 1)}}, from_original).is_ok());
  ASSERT_TRUE(r->forward({{chunk(reloaded, 1)}}, from_reloaded).is_ok());
  EXPECT_EQ(from_original, from_reloaded);
}

TEST_F(CudaOffload, StoreWaitsForWorkQueuedOnTheComputeStream) {
  auto r = make_cuda_runner(runner_options(test_model_dir("tiny"), "cuda", 8));
  ASSERT_TRUE(r);
  const kv::KvPool pool = r->kv_pool();
  auto made = kv::create_block_transfer(pool, 2);
  ASSERT_TRUE(made.has_value());
  kv::BlockTransfer& t = **made;
  // A large copy keeps the compute stream busy, then a write of block 1 is queued behind it; the
  // store submitted right away (no synchronisation) must see that write.
  auto big = kernels::cuda::DeviceBuffer::allocate(size_t(2) << 30, "busy work");
  ASSERT_TRUE(big.has_value());
  cudaStream_t compute = kernels::cuda::compute_stream();
  ASSERT_EQ(cudaMemsetAsync(pool.block(1), 0x11, pool.layout.block_bytes(), compute), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(compute), cudaSuccess);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(cudaMemsetAsync(big->get(), i, big->bytes(), compute), cudaSuccess);
  ASSERT_EQ(cudaMemsetAsync(pool.block(1), 0xAB, pool.layout.block_bytes(), compute), cudaSuccess);
  const std::vector<BlockCopy> copies = {{1, 1}};
  const uint64_t ticket = t.submit(TransferDirection::kStore, copies);
  wait_for(t, ticket);
  const auto* host = reinterpret_cast<const unsigned char*>(t.host_slot(1));
  size_t wrong = 0;
  for (size_t i = 0; i < pool.layout.block_bytes(); ++i) wrong += host[i] != 0xAB;
  EXPECT_EQ(wrong, 0u);
}

TEST_F(CudaOffload, EmptyAndInvalidBatchesCompleteWithoutCopying) {
  auto r = make_cuda_runner(runner_options(test_model_dir("tiny"), "cuda", 8));
  ASSERT_TRUE(r);
  auto made = kv::create_block_transfer(r->kv_pool(), 4);
  ASSERT_TRUE(made.has_value());
  kv::BlockTransfer& t = **made;
  const uint64_t empty = t.submit(TransferDirection::kStore, {});
  EXPECT_EQ(wait_for(t, empty).bytes, 0u);
  const std::vector<BlockCopy> bad = {{8, 0}, {0, 4}, {-1, 1}, {2, 3}};
  const uint64_t partial = t.submit(TransferDirection::kStore, bad);
  EXPECT_EQ(wait_for(t, partial).bytes, r->kv_pool().layout.block_bytes());  // only {2, 3}
  t.wait_all();
  EXPECT_EQ(t.num_host_slots(), 4);
}

TEST_F(CudaOffload, RejectsCpuPoolsAndNonPositiveSlotCounts) {
  kv::KvPool cpu_pool;
  cpu_pool.device = kv::Device::kCpu;
  EXPECT_FALSE(kv::create_cuda_block_transfer(cpu_pool, 4).has_value());
  auto r = make_cuda_runner(runner_options(test_model_dir("tiny"), "cuda", 8));
  ASSERT_TRUE(r);
  auto none = kv::create_block_transfer(r->kv_pool(), 0);
  EXPECT_FALSE(none.has_value());
}

}  // namespace
}  // namespace kvtier::model::cuda
#endif  // KVTIER_HAVE_CUDA
