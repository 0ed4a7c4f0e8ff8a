#include "kv/offload/cuda/cuda_transfer.h"

#include <cuda_runtime.h>

#include <deque>
#include <iterator>
#include <vector>

#include "kernels/cuda/compute_stream.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"

namespace kvtier::kv {
namespace {

namespace kc = kernels::cuda;

// One submitted batch on its copy stream: `end` completes when its last copy has.
struct InFlight {
  uint64_t ticket = 0;
  TransferDirection direction = TransferDirection::kStore;
  size_t bytes = 0;
  cudaEvent_t start = nullptr, end = nullptr;
};

// Every method runs on the engine thread; the copies themselves run on the two copy streams.
class CudaBlockTransfer final : public BlockTransfer {
 public:
  CudaBlockTransfer(const KvPool& pool, int32_t num_slots, kc::PinnedBuffer host)
      : pool_(pool),
        block_bytes_(pool.layout.block_bytes()),
        num_slots_(num_slots),
        host_(std::move(host)) {}

  Status init() {
    KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&store_stream_, cudaStreamNonBlocking));
    KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&load_stream_, cudaStreamNonBlocking));
    return Status::ok();
  }

  ~CudaBlockTransfer() override {
    if (store_stream_) cudaStreamSynchronize(store_stream_);
    if (load_stream_) cudaStreamSynchronize(load_stream_);
    for (auto* q : {&stores_, &loads_})
      for (InFlight& f : *q) {
        cudaEventDestroy(f.start);
        cudaEventDestroy(f.end);
      }
    for (cudaEvent_t e : free_events_) cudaEventDestroy(e);
    if (compute_done_) cudaEventDestroy(compute_done_);
    if (store_stream_) cudaStreamDestroy(store_stream_);
    if (load_stream_) cudaStreamDestroy(load_stream_);
  }

  std::byte* host_slot(int32_t slot) const override {
    return host_.get<std::byte>() + size_t(slot) * block_bytes_;
  }
  int32_t num_host_slots() const override { return num_slots_; }
  size_t block_bytes() const override { return block_bytes_; }

  uint64_t submit(TransferDirection direction, std::span<const BlockCopy> copies) override {
    const uint64_t ticket = next_ticket_++;
    const Status st = enqueue(ticket, direction, copies);
    if (!st) {
      // The copies may be partly issued: wait for them so none lands after the tier has
      // reused its blocks, then report the batch as failed (its data is not trustworthy).
      cudaStreamSynchronize(stream_for(direction));
      cudaGetLastError();
      finished_.push_back(TransferCompletion::failed(
          ticket, direction,
          make_error(st.code(), "offload transfer {} ({} of {} blocks): {}", ticket,
                     transfer_direction_name(direction), copies.size(), st.message())));
    }
    return ticket;
  }

  void poll(std::vector<TransferCompletion>& done) override {
    done.insert(done.end(), std::make_move_iterator(finished_.begin()),
                std::make_move_iterator(finished_.end()));
    finished_.clear();
    for (auto* q : {&stores_, &loads_}) {
      // Batches on one stream finish in order: stop at the first one still running.
      while (!q->empty()) {
        InFlight& f = q->front();
        const cudaError_t err = cudaEventQuery(f.end);
        if (err == cudaErrorNotReady) break;
        float ms = 0.f;
        cudaError_t timing = cudaSuccess;
        if (err == cudaSuccess) timing = cudaEventElapsedTime(&ms, f.start, f.end);
        if (err == cudaSuccess && timing == cudaSuccess) {
          done.push_back(TransferCompletion::succeeded(f.ticket, f.direction, f.bytes, ms / 1e3));
        } else {
          // A copy of the batch failed (or its end cannot be trusted): a failure, never a
          // batch done with 0 bytes.
          const cudaError_t bad = err != cudaSuccess ? err : timing;
          cudaGetLastError();
          done.push_back(TransferCompletion::failed(
              f.ticket, f.direction,
              make_error(ErrorCode::kInternal, "offload transfer {} ({} of {} bytes): {} ({})",
                         f.ticket, transfer_direction_name(f.direction), f.bytes,
                         cudaGetErrorName(bad), cudaGetErrorString(bad))));
        }
        free_events_.push_back(f.start);
        free_events_.push_back(f.end);
        q->pop_front();
      }
    }
  }

  void wait_all() override {
    cudaStreamSynchronize(store_stream_);
    cudaStreamSynchronize(load_stream_);
  }

 private:
  cudaStream_t stream_for(TransferDirection d) const {
    return d == TransferDirection::kStore ? store_stream_ : load_stream_;
  }

  Expected<cudaEvent_t> take_event() {
    if (!free_events_.empty()) {
      cudaEvent_t e = free_events_.back();
      free_events_.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    KVTIER_CUDA_RETURN_IF_ERROR(cudaEventCreate(&e));
    return e;
  }

  Status enqueue(uint64_t ticket, TransferDirection direction, std::span<const BlockCopy> copies) {
    // A copy outside the pool or the host slots fails the whole batch before anything is issued.
    for (const BlockCopy& c : copies) {
      if (c.device_block < 0 || c.device_block >= pool_.num_blocks || c.host_slot < 0 ||
          c.host_slot >= num_slots_) {
        return internal_error(
            "device block {} / host slot {} outside the pool of {} blocks and {} host slots",
            c.device_block, c.host_slot, pool_.num_blocks, num_slots_);
      }
    }
    if (copies.empty()) {
      finished_.push_back(TransferCompletion::succeeded(ticket, direction, 0, 0.0));
      return Status::ok();
    }
    const cudaStream_t stream = stream_for(direction);
    // Order the copies after everything already queued on the compute stream: a store must not
    // read a block before the step that writes it has finished, nor a load overwrite a block a
    // running step still reads. The host does not wait.
    if (!compute_done_)
      KVTIER_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming));
    KVTIER_CUDA_RETURN_IF_ERROR(cudaEventRecord(compute_done_, kc::compute_stream()));
    KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(stream, compute_done_, 0));

    InFlight f{ticket, direction, copies.size() * block_bytes_, nullptr, nullptr};
    KVTIER_ASSIGN_OR_RETURN(f.start, take_event());
    auto end_event = take_event();
    if (!end_event) {
      free_events_.push_back(f.start);
      return end_event.error();
    }
    f.end = *end_event;
    const Status issued = issue(f, copies);
    if (!issued) {
      // Not queued: the events go back to the free list (submit() waits for the stream).
      free_events_.push_back(f.start);
      free_events_.push_back(f.end);
      return issued;
    }
    (direction == TransferDirection::kStore ? stores_ : loads_).push_back(f);
    return Status::ok();
  }

  // Records the batch's start, one copy per run of consecutive blocks, and its end.
  Status issue(const InFlight& f, std::span<const BlockCopy> copies) {
    const TransferDirection direction = f.direction;
    const cudaStream_t stream = stream_for(direction);
    KVTIER_CUDA_RETURN_IF_ERROR(cudaEventRecord(f.start, stream));
    const cudaMemcpyKind kind =
        direction == TransferDirection::kStore ? cudaMemcpyDeviceToHost : cudaMemcpyHostToDevice;
    // One copy per run of blocks consecutive on both sides (at least one whole block each).
    for (size_t i = 0; i < copies.size();) {
      size_t j = i + 1;
      while (j < copies.size() && copies[j].device_block == copies[j - 1].device_block + 1 &&
             copies[j].host_slot == copies[j - 1].host_slot + 1)
        ++j;
      std::byte* device = pool_.block(copies[i].device_block);
      std::byte* host = host_slot(copies[i].host_slot);
      const size_t bytes = (j - i) * block_bytes_;
      void* dst = direction == TransferDirection::kStore ? static_cast<void*>(host) : device;
      const void* src = direction == TransferDirection::kStore ? static_cast<void*>(device) : host;
      KVTIER_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, bytes, kind, stream));
      i = j;
    }
    KVTIER_CUDA_RETURN_IF_ERROR(cudaEventRecord(f.end, stream));
    return Status::ok();
  }

  const KvPool pool_;
  const size_t block_bytes_;
  const int32_t num_slots_;
  kc::PinnedBuffer host_;
  cudaStream_t store_stream_ = nullptr, load_stream_ = nullptr;
  cudaEvent_t compute_done_ = nullptr;
  std::deque<InFlight> stores_, loads_;
  std::vector<TransferCompletion> finished_;  // empty or failed batches, reported by poll()
  std::vector<cudaEvent_t> free_events_;
  uint64_t next_ticket_ = 1;
};

}  // namespace

Expected<std::unique_ptr<BlockTransfer>> create_cuda_block_transfer(const KvPool& pool,
                                                                    int32_t num_host_slots) {
  if (pool.device != Device::kCuda)
    return invalid_argument("CUDA offload transfer: the KV pool is not on the CUDA device");
  if (num_host_slots <= 0)
    return invalid_argument("CUDA offload transfer: {} host slots asked for", num_host_slots);
  if (kc::cuda_device_count() == 0)
    return make_error(ErrorCode::kUnavailable, "CUDA offload transfer: no CUDA device");
  const size_t block_bytes = pool.layout.block_bytes();
  const size_t bytes = size_t(num_host_slots) * block_bytes;
  auto host = kc::PinnedBuffer::allocate(bytes, "the CPU KV tier");
  if (!host)
    return make_error(
        ErrorCode::kResourceExhausted,
        "CUDA offload transfer: cannot pin {} host slots of {} bytes ({:.2f} GiB): {}",
        num_host_slots, block_bytes, bytes / 1073741824.0, host.error().message());
  auto t = std::make_unique<CudaBlockTransfer>(pool, num_host_slots, std::move(*host));
  KVTIER_RETURN_IF_ERROR(t->init());
  return std::unique_ptr<BlockTransfer>(std::move(t));
}

}  // namespace kvtier::kv
