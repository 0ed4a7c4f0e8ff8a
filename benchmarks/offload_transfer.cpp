// Bandwidth of the CPU offload tier's block copies, and what the tier costs a step that has
// nothing to offload or load. Blocks are Qwen3-0.6B's in bf16: 28 layers x 2 x 16 tokens x
// 8 KV heads x 128 x 2 bytes = 1.75 MiB.
//   bench_offload_transfer --benchmark_counters_tabular=true
#include <cstring>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "kv/offload/cpu_transfer.h"
#include "kv/offload/offload_connector.h"

namespace kvtier::kv {
namespace {

constexpr int32_t kBlocks = 64;

KvLayout qwen3_0_6b_bf16() {
  KvLayout layout;
  layout.num_layers = 28;
  layout.num_kv_heads = 8;
  layout.head_dim = 128;
  layout.block_size = 16;
  layout.dtype_bytes = 2;
  return layout;
}

struct DevicePool {
  DevicePool() : layout(qwen3_0_6b_bf16()), storage(size_t(kBlocks) * layout.block_bytes()) {
    std::memset(storage.data(), 0x5a, storage.size());  // fault the pages in before timing
    pool.base = storage.data();
    pool.num_blocks = kBlocks;
    pool.layout = layout;
  }
  KvLayout layout;
  std::vector<std::byte> storage;
  KvPool pool;
};

// Args: blocks per batch, worker threads. One iteration = one batch submitted and finished.
void run_transfer(benchmark::State& state, TransferDirection direction) {
  DevicePool device;
  const int32_t batch = int32_t(state.range(0));
  auto transfer =
      create_cpu_block_transfer(device.pool, kBlocks, {.num_threads = int32_t(state.range(1))});
  if (!transfer) {
    state.SkipWithError(transfer.error().to_string().c_str());
    return;
  }
  BlockTransfer& t = **transfer;
  std::memset(t.host_slot(0), 0xa5, size_t(kBlocks) * t.block_bytes());
  std::vector<BlockCopy> copies;
  std::vector<TransferCompletion> done;
  int32_t offset = 0;
  for (auto _ : state) {
    copies.clear();
    for (int32_t i = 0; i < batch; ++i)
      copies.push_back({(offset + i) % kBlocks, (offset + 7 * i + 3) % kBlocks});
    offset = (offset + batch) % kBlocks;
    t.submit(direction, copies);
    t.wait_all();
    done.clear();
    t.poll(done);
  }
  const double bytes = double(state.iterations()) * batch * double(t.block_bytes());
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

void BM_Store(benchmark::State& state) { run_transfer(state, TransferDirection::kStore); }
void BM_Load(benchmark::State& state) { run_transfer(state, TransferDirection::kLoad); }

// The same copies with plain memcpy on the calling thread: the machine's ceiling for one thread.
void BM_MemcpyBaseline(benchmark::State& state) {
  DevicePool device;
  const size_t block = device.layout.block_bytes();
  std::vector<std::byte> host(size_t(kBlocks) * block);
  std::memset(host.data(), 0xa5, host.size());
  const int32_t batch = int32_t(state.range(0));
  int32_t offset = 0;
  for (auto _ : state) {
    for (int32_t i = 0; i < batch; ++i) {
      std::memcpy(host.data() + size_t((offset + 7 * i + 3) % kBlocks) * block,
                  device.pool.block((offset + i) % kBlocks), block);
    }
    offset = (offset + batch) % kBlocks;
    benchmark::ClobberMemory();
  }
  const double bytes = double(state.iterations()) * batch * double(block);
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MemcpyBaseline)->Arg(8)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Store)
    ->ArgsProduct({{1, 8, 32}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Load)->ArgsProduct({{1, 8, 32}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

// A step of the engine with the tier on and no CPU hits: 64 running requests each looking up a
// 625-block (10k-token) continuation that misses, and a poll with nothing in flight.
void BM_StepWithoutHits(benchmark::State& state) {
  DevicePool device;
  OffloadConfig config;
  config.num_cpu_blocks = kBlocks;
  auto transfer = create_cpu_block_transfer(device.pool, kBlocks, {.num_threads = 1});
  CpuOffloadConnector tier(config, device.pool, std::move(transfer).value(), nullptr);
  std::vector<uint64_t> hashes(625);
  for (size_t i = 0; i < hashes.size(); ++i) hashes[i] = 0x9E3779B97F4A7C15ull * (i + 1);
  for (auto _ : state) {
    int32_t hits = 0;
    for (int r = 0; r < 64; ++r) hits += tier.lookup(hashes);
    benchmark::DoNotOptimize(hits);
    benchmark::DoNotOptimize(tier.poll());
  }
}
BENCHMARK(BM_StepWithoutHits)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvtier::kv

BENCHMARK_MAIN();
