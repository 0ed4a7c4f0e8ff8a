#pragma once
// Moves whole KV blocks between the device pool and the offload tier's host memory. The tier
// decides what to copy; a BlockTransfer only copies, asynchronously and in batches, so the engine
// thread never waits for a copy. The CPU implementation uses worker threads doing memcpy
// (cpu_transfer.h); the CUDA one uses copy streams and pinned host memory (cuda/cuda_transfer.h).
//
// Threading: submit(), poll() and wait_all() are called by one thread (the engine thread).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "common/status.h"
#include "kv/pool.h"

namespace kvtier::kv {

enum class TransferDirection { kStore, kLoad };  // store: device -> host; load: host -> device

// One block to move: device block `device_block` of the pool and host slot `host_slot`.
struct BlockCopy {
  int32_t device_block = 0;
  int32_t host_slot = 0;
};

inline const char* transfer_direction_name(TransferDirection direction) {
  return direction == TransferDirection::kStore ? "store" : "load";
}

// One finished batch. A failed batch (a copy that could not be issued or did not complete, a
// copy naming a block or slot outside the pool) is never reported as done with fewer bytes: its
// status says why, naming the ticket, and its destinations hold no trustworthy data.
struct TransferCompletion {
  uint64_t ticket = 0;
  TransferDirection direction = TransferDirection::kStore;
  size_t bytes = 0;    // copied; 0 when failed
  double seconds = 0;  // from the first copy starting to the last one ending
  Status status;       // ok, or why the batch failed

  static TransferCompletion succeeded(uint64_t ticket, TransferDirection direction, size_t bytes,
                                      double seconds) {
    TransferCompletion c;
    c.ticket = ticket;
    c.direction = direction;
    c.bytes = bytes;
    c.seconds = seconds;
    return c;
  }
  static TransferCompletion failed(uint64_t ticket, TransferDirection direction, Status why) {
    TransferCompletion c;
    c.ticket = ticket;
    c.direction = direction;
    c.status = std::move(why);
    return c;
  }
  bool ok() const { return status.is_ok(); }
};

class BlockTransfer {
 public:
  virtual ~BlockTransfer() = default;

  // Host memory of `num_host_slots() * block_bytes()` bytes, allocated once when the transfer is
  // created (pinned on CUDA). Slot i starts at host_slot(i).
  virtual std::byte* host_slot(int32_t slot) const = 0;
  virtual int32_t num_host_slots() const = 0;
  virtual size_t block_bytes() const = 0;

  // Starts copying `copies` (one batch) in `direction` and returns its ticket (unique, increasing).
  // The source blocks must stay unchanged and the destinations unused until the ticket completes.
  // An empty batch completes at the next poll().
  virtual uint64_t submit(TransferDirection direction, std::span<const BlockCopy> copies) = 0;

  // Appends the batches that finished since the last call to `done`, each exactly once, failed
  // ones with their status. Never blocks.
  virtual void poll(std::vector<TransferCompletion>& done) = 0;

  // Blocks until every submitted batch has finished; they are still reported by the next poll().
  virtual void wait_all() = 0;
};

// Picks the implementation for the pool's device and allocates `num_host_slots` host blocks.
// Errors name the device, the slot count and the bytes asked for.
Expected<std::unique_ptr<BlockTransfer>> create_block_transfer(const KvPool& pool,
                                                               int32_t num_host_slots);

}  // namespace kvtier::kv
