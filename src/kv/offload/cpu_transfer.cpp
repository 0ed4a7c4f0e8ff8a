#include "kv/offload/cpu_transfer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/mman.h>

namespace kvtier::kv {
namespace {

constexpr size_t kHostAlignment = 4096;
constexpr const char* kWorkerName = "kv-offload";

struct UnmapDeleter {
  size_t bytes = 0;
  void operator()(std::byte* p) const { munmap(p, bytes); }
};
using HostMemory = std::unique_ptr<std::byte, UnmapDeleter>;

// MemAvailable from /proc/meminfo, in bytes; nullopt where it cannot be read.
std::optional<size_t> available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

// One submitted batch. Workers each copy one byte range of it; the last one to finish reports it.
struct Batch {
  uint64_t ticket = 0;
  TransferDirection direction = TransferDirection::kStore;
  std::vector<BlockCopy> copies;
  std::vector<double> starts, ends;  // per range, written by the worker that copies it
  std::atomic<int32_t> remaining{0};
};

struct Range {
  std::shared_ptr<Batch> batch;
  int32_t index = 0;
  size_t begin = 0, end = 0;  // bytes into the concatenation of the batch's blocks
};

class CpuBlockTransfer final : public BlockTransfer {
 public:
  CpuBlockTransfer(const KvPool& pool, int32_t num_slots,
                   HostMemory host, int32_t num_threads,
                   size_t min_bytes_per_thread, Clock& clock)
      : pool_(pool),
        block_bytes_(pool.layout.block_bytes()),
        num_slots_(num_slots),
        host_(std::move(host)),
        min_bytes_per_thread_(std::max<size_t>(min_bytes_per_thread, 1)),
        clock_(clock) {
    workers_.reserve(num_threads);
    for (int32_t i = 0; i < num_threads; ++i) {
      workers_.emplace_back([this] { work(); });
      // Named so profilers and /proc/<pid>/task/*/comm can tell the tier's CPU time apart.
      pthread_setname_np(workers_.back().native_handle(), kWorkerName);
    }
  }

  ~CpuBlockTransfer() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  std::byte* host_slot(int32_t slot) const override {
    return host_.get() + size_t(slot) * block_bytes_;
  }
  int32_t num_host_slots() const override { return num_slots_; }
  size_t block_bytes() const override { return block_bytes_; }

  uint64_t submit(TransferDirection direction, std::span<const BlockCopy> copies) override {
    auto batch = std::make_shared<Batch>();
    batch->ticket = next_ticket_++;
    batch->direction = direction;
    // A copy outside the pool or the host slots fails the whole batch before anything is
    // copied: reporting the rest as done would let the tier trust a slot nobody wrote.
    for (const BlockCopy& c : copies) {
      if (c.device_block < 0 || c.device_block >= pool_.num_blocks || c.host_slot < 0 ||
          c.host_slot >= num_slots_) {
        report(TransferCompletion::failed(
            batch->ticket, direction,
            internal_error("offload transfer {} ({} of {} blocks): device block {} / host slot {} "
                           "outside the pool of {} blocks and {} host slots",
                           batch->ticket, transfer_direction_name(direction), copies.size(),
                           c.device_block, c.host_slot, pool_.num_blocks, num_slots_)));
        return batch->ticket;
      }
    }
    batch->copies.assign(copies.begin(), copies.end());
    const size_t total = batch->copies.size() * block_bytes_;
    if (total == 0) {
      report(TransferCompletion::succeeded(batch->ticket, direction, 0, 0.0));
      return batch->ticket;
    }
    const size_t by_size = std::max<size_t>(1, total / min_bytes_per_thread_);
    const int32_t num_ranges = int32_t(std::min<size_t>(workers_.size(), by_size));
    // Ranges end on 64-byte boundaries so two workers never write the same cache line.
    const size_t per_range = (total / num_ranges + 63) / 64 * 64;
    batch->starts.assign(num_ranges, 0.0);
    batch->ends.assign(num_ranges, 0.0);
    batch->remaining.store(num_ranges, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      for (int32_t i = 0; i < num_ranges; ++i) {
        const size_t begin = std::min(total, size_t(i) * per_range);
        const size_t end = i + 1 == num_ranges ? total : std::min(total, begin + per_range);
        ranges_.push_back({batch, i, begin, end});
      }
      ++in_flight_;
    }
    if (num_ranges == 1) {
      work_cv_.notify_one();
    } else {
      work_cv_.notify_all();
    }
    return batch->ticket;
  }

  void poll(std::vector<TransferCompletion>& done) override {
    if (done_count_.load(std::memory_order_acquire) == 0) return;
    std::lock_guard lock(done_mu_);
    done.insert(done.end(), done_.begin(), done_.end());
    done_.clear();
    done_count_.store(0, std::memory_order_relaxed);
  }

  void wait_all() override {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [this] { return in_flight_ == 0; });
  }

 private:
  void work() {
    for (;;) {
      Range range;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [this] { return stopping_ || !ranges_.empty(); });
        if (ranges_.empty()) return;  // stopping, nothing left to copy
        range = std::move(ranges_.front());
        ranges_.pop_front();
      }
      copy(range);
    }
  }

  // Queues a finished batch for poll(); any thread.
  void report(TransferCompletion done) {
    std::lock_guard lock(done_mu_);
    done_.push_back(std::move(done));
    done_count_.fetch_add(1, std::memory_order_release);
  }

  void copy(const Range& range) {
    Batch& batch = *range.batch;
    batch.starts[range.index] = clock_.now();
    size_t pos = range.begin;
    while (pos < range.end) {
      const size_t block = pos / block_bytes_;
      const size_t offset = pos % block_bytes_;
      const size_t len = std::min(block_bytes_ - offset, range.end - pos);
      const BlockCopy& c = batch.copies[block];
      std::byte* device = pool_.block(c.device_block) + offset;
      std::byte* host = host_slot(c.host_slot) + offset;
      if (batch.direction == TransferDirection::kStore) {
        std::memcpy(host, device, len);
      } else {
        std::memcpy(device, host, len);
      }
      pos += len;
    }
    batch.ends[range.index] = clock_.now();
    if (batch.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;

    // Last range of the batch: every other worker's writes are visible after the acq_rel above.
    const double start = *std::min_element(batch.starts.begin(), batch.starts.end());
    const double end = *std::max_element(batch.ends.begin(), batch.ends.end());
    report(TransferCompletion::succeeded(batch.ticket, batch.direction,
                                         batch.copies.size() * block_bytes_, end - start));
    {
      std::lock_guard lock(mu_);
      --in_flight_;
    }
    idle_cv_.notify_all();
  }

  const KvPool pool_;
  const size_t block_bytes_;
  const int32_t num_slots_;
  const HostMemory host_;
  const size_t min_bytes_per_thread_;
  Clock& clock_;
  uint64_t next_ticket_ = 1;  // engine thread only

  // Work queue: the engine thread pushes ranges, workers pop them.
  std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<Range> ranges_;
  int64_t in_flight_ = 0;  // batches submitted and not finished
  bool stopping_ = false;

  // Finished batches: pushed by workers, taken by poll() on the engine thread.
  std::mutex done_mu_;
  std::vector<TransferCompletion> done_;
  std::atomic<size_t> done_count_{0};

  std::vector<std::thread> workers_;
};

int32_t default_num_threads() {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return int32_t(std::clamp(hw / 2, 1u, 4u));
}

}  // namespace

Expected<std::unique_ptr<BlockTransfer>> create_cpu_block_transfer(
    const KvPool& pool, int32_t num_host_slots, const CpuTransferOptions& options) {
  const size_t block_bytes = pool.layout.block_bytes();
  if (pool.base == nullptr || pool.num_blocks <= 0 || block_bytes == 0) {
    return invalid_argument("offload tier: the KV pool is empty ({} blocks of {} bytes)",
                            pool.num_blocks, block_bytes);
  }
  if (num_host_slots <= 0) {
    return invalid_argument("offload tier: num_cpu_blocks must be positive, got {}",
                            num_host_slots);
  }
  if (options.num_threads < 0 || options.num_threads > 256) {
    return invalid_argument("offload tier: transfer threads must be in [0, 256], got {}",
                            options.num_threads);
  }
  if (size_t(num_host_slots) >
      (std::numeric_limits<size_t>::max() - kHostAlignment) / block_bytes) {
    return invalid_argument(
        "offload tier: num_cpu_blocks {} of {} bytes overflows the address space", num_host_slots,
        block_bytes);
  }
  const size_t bytes = size_t(num_host_slots) * block_bytes;
  const size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  const std::optional<size_t> available = available_memory();
  if (available && rounded > *available) {
    return make_error(ErrorCode::kResourceExhausted,
                      "offload tier: num_cpu_blocks {} ({} bytes each, {:.2f} GiB) exceeds the "
                      "host's available memory ({:.2f} GiB)",
                      num_host_slots, block_bytes, double(rounded) / double(1ull << 30),
                      double(*available) / double(1ull << 30));
  }
  void* mapped =
      mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) {
    return make_error(
        ErrorCode::kResourceExhausted,
        "offload tier: cannot allocate {} host bytes for num_cpu_blocks {} ({} bytes each)", bytes,
        num_host_slots, block_bytes);
  }
  HostMemory host(static_cast<std::byte*>(mapped), UnmapDeleter{rounded});
  // Resident from the start, as pinned memory is on CUDA: a store into a fresh page would
  // otherwise fault and zero it on the copy worker while the model runs (~2 us per 4 KiB page
  // measured on the 2-core dev box, where that worker takes a core from the model).
  // Huge pages make that one-time fill cheaper where the kernel offers them.
  madvise(mapped, rounded, MADV_HUGEPAGE);
  for (size_t off = 0; off < rounded; off += kHostAlignment) host.get()[off] = std::byte{0};
  const int32_t threads = options.num_threads > 0 ? options.num_threads : default_num_threads();
  Clock& clock = options.clock != nullptr ? *options.clock : steady_clock();
  return std::unique_ptr<BlockTransfer>(std::make_unique<CpuBlockTransfer>(
      pool, num_host_slots, std::move(host), threads, options.min_bytes_per_thread, clock));
}

}  // namespace kvtier::kv
