#pragma once
// Test doubles for the offload tier: a KV pool in host memory, a BlockTransfer whose batches
// finish (or fail) only when the test says so, one that fails chosen batches of another, a clock
// that steps, and an event sink that records.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "kv/events.h"
#include "kv/offload/clock.h"
#include "kv/offload/offload_connector.h"
#include "kv/offload/transfer.h"
#include "kv/pool.h"

namespace kvtier::kv::testing {

// A small layout: 2 layers x 2 x 16 tokens x 2 heads x 8 dims x 4 bytes = 8 KiB per block.
inline KvLayout small_layout() {
  KvLayout layout;
  layout.num_layers = 2;
  layout.num_kv_heads = 2;
  layout.head_dim = 8;
  layout.block_size = 16;
  layout.dtype_bytes = 4;
  return layout;
}

class FakePool {
 public:
  explicit FakePool(int32_t num_blocks, KvLayout layout = small_layout())
      : storage_(size_t(num_blocks) * layout.block_bytes() + 64) {
    pool_.device = Device::kCpu;
    pool_.layout = layout;
    pool_.num_blocks = num_blocks;
    auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    pool_.base = storage_.data() + ((64 - addr % 64) % 64);
  }
  const KvPool& pool() const { return pool_; }
  size_t block_bytes() const { return pool_.layout.block_bytes(); }

  // Fills a block with bytes derived from `seed`, so any mix-up of blocks shows.
  void fill(int32_t block, uint64_t seed) {
    std::byte* p = pool_.block(block);
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < block_bytes(); ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      p[i] = std::byte(x & 0xff);
    }
  }
  bool holds(int32_t block, uint64_t seed) const {
    FakePool expected(1, pool_.layout);
    expected.fill(0, seed);
    return std::memcmp(pool_.block(block), expected.pool().block(0), block_bytes()) == 0;
  }
  void clear(int32_t block) { std::memset(pool_.block(block), 0, block_bytes()); }

 private:
  std::vector<std::byte> storage_;
  KvPool pool_;
};

// Copies happen when the test calls complete(): until then a batch stays in flight.
class GatedTransfer final : public BlockTransfer {
 public:
  GatedTransfer(const KvPool& pool, int32_t slots)
      : pool_(pool), host_(size_t(slots) * pool.layout.block_bytes()), slots_(slots) {}

  std::byte* host_slot(int32_t slot) const override {
    return const_cast<std::byte*>(host_.data()) + size_t(slot) * block_bytes();
  }
  int32_t num_host_slots() const override { return slots_; }
  size_t block_bytes() const override { return pool_.layout.block_bytes(); }

  uint64_t submit(TransferDirection direction, std::span<const BlockCopy> copies) override {
    const uint64_t ticket = next_++;
    pending_[ticket] = {direction, std::vector<BlockCopy>(copies.begin(), copies.end())};
    ++submitted_;
    return ticket;
  }
  void poll(std::vector<TransferCompletion>& done) override {
    done.insert(done.end(), done_.begin(), done_.end());
    done_.clear();
  }
  void wait_all() override { complete_all(); }

  // Performs batch `ticket` (each batch takes `seconds`).
  void complete(uint64_t ticket, double seconds = 0.5) {
    auto node = pending_.extract(ticket);
    if (node.empty()) return;
    const auto& [direction, copies] = node.mapped();
    for (const BlockCopy& c : copies) {
      std::byte* device = pool_.block(c.device_block);
      std::byte* host = host_slot(c.host_slot);
      if (direction == TransferDirection::kStore) {
        std::memcpy(host, device, block_bytes());
      } else {
        std::memcpy(device, host, block_bytes());
      }
    }
    done_.push_back(
        TransferCompletion::succeeded(ticket, direction, copies.size() * block_bytes(), seconds));
  }
  // Fails batch `ticket`: its destinations get garbage (a copy that broke half way), and the
  // completion says why.
  void fail(uint64_t ticket) {
    auto node = pending_.extract(ticket);
    if (node.empty()) return;
    const auto& [direction, copies] = node.mapped();
    for (const BlockCopy& c : copies) {
      std::byte* dst = direction == TransferDirection::kStore ? host_slot(c.host_slot)
                                                              : pool_.block(c.device_block);
      std::memset(dst, 0xA5, block_bytes());
    }
    done_.push_back(TransferCompletion::failed(
        ticket, direction, internal_error("offload transfer {}: injected copy failure", ticket)));
  }
  void complete_all() {
    while (!pending_.empty()) complete(pending_.begin()->first);
  }
  std::vector<uint64_t> pending_tickets(TransferDirection direction) const {
    std::vector<uint64_t> out;
    for (const auto& [ticket, batch] : pending_) {
      if (batch.first == direction) out.push_back(ticket);
    }
    return out;
  }
  size_t batch_size(uint64_t ticket) const { return pending_.at(ticket).second.size(); }
  int submitted() const { return submitted_; }

 private:
  KvPool pool_;
  std::vector<std::byte> host_;
  int32_t slots_;
  uint64_t next_ = 1;
  int submitted_ = 0;
  std::map<uint64_t, std::pair<TransferDirection, std::vector<BlockCopy>>> pending_;
  std::vector<TransferCompletion> done_;
};

// Wraps a real BlockTransfer and fails the chosen batches of each direction (1 = the first
// store or load submitted): the inner copy runs, then the destinations are overwritten with
// garbage and the completion reports a failure, as a copy engine error half way would leave it.
class FailingTransfer final : public BlockTransfer {
 public:
  FailingTransfer(std::unique_ptr<BlockTransfer> inner, const KvPool& pool,
                  std::vector<int> fail_stores, std::vector<int> fail_loads)
      : inner_(std::move(inner)),
        pool_(pool),
        fail_stores_(std::move(fail_stores)),
        fail_loads_(std::move(fail_loads)) {}

  std::byte* host_slot(int32_t slot) const override { return inner_->host_slot(slot); }
  int32_t num_host_slots() const override { return inner_->num_host_slots(); }
  size_t block_bytes() const override { return inner_->block_bytes(); }

  uint64_t submit(TransferDirection direction, std::span<const BlockCopy> copies) override {
    const uint64_t ticket = inner_->submit(direction, copies);
    const bool store = direction == TransferDirection::kStore;
    const int n = store ? ++stores_ : ++loads_;
    const auto& chosen = store ? fail_stores_ : fail_loads_;
    if (std::find(chosen.begin(), chosen.end(), n) != chosen.end()) {
      doomed_[ticket] = std::vector<BlockCopy>(copies.begin(), copies.end());
    }
    return ticket;
  }
  void poll(std::vector<TransferCompletion>& done) override {
    const size_t first = done.size();
    inner_->poll(done);
    for (size_t i = first; i < done.size(); ++i) {
      auto node = doomed_.extract(done[i].ticket);
      if (node.empty()) continue;
      const TransferDirection direction = done[i].direction;
      for (const BlockCopy& c : node.mapped()) {
        std::byte* dst = direction == TransferDirection::kStore ? host_slot(c.host_slot)
                                                                : pool_.block(c.device_block);
        std::memset(dst, 0x5A, block_bytes());
      }
      done[i] = TransferCompletion::failed(
          done[i].ticket, direction,
          internal_error("offload transfer {}: injected copy failure", done[i].ticket));
      ++failed;
    }
  }
  void wait_all() override { inner_->wait_all(); }

  int failed = 0;  // batches reported failed so far

 private:
  std::unique_ptr<BlockTransfer> inner_;
  KvPool pool_;
  std::vector<int> fail_stores_, fail_loads_;
  int stores_ = 0, loads_ = 0;
  std::map<uint64_t, std::vector<BlockCopy>> doomed_;
};

// Advances by a fixed step on every reading: a batch copied by one worker lasts exactly one step.
class SteppingClock final : public Clock {
 public:
  explicit SteppingClock(double step) : step_(step) {}
  double now() override { return double(calls_.fetch_add(1) + 1) * step_; }

 private:
  const double step_;
  std::atomic<int64_t> calls_{0};
};

class RecordingSink final : public KvEventSink {
 public:
  void block_stored(BlockStoredEvent e) override { stored.push_back(std::move(e)); }
  void block_removed(BlockRemovedEvent e) override { removed.push_back(std::move(e)); }
  void all_blocks_cleared() override { ++cleared; }
  void flush() override { ++flushes; }

  std::vector<uint64_t> stored_hashes() const {
    std::vector<uint64_t> out;
    for (const auto& e : stored)
      out.insert(out.end(), e.block_hashes.begin(), e.block_hashes.end());
    return out;
  }
  std::vector<uint64_t> removed_hashes() const {
    std::vector<uint64_t> out;
    for (const auto& e : removed)
      out.insert(out.end(), e.block_hashes.begin(), e.block_hashes.end());
    return out;
  }

  std::vector<BlockStoredEvent> stored;
  std::vector<BlockRemovedEvent> removed;
  int cleared = 0;
  int flushes = 0;
};

// A CPU tier over a fake device pool whose copies happen when the test completes them.
struct GatedTier {
  GatedTier(const OffloadConfig& config, int32_t device_blocks, int32_t host_slots)
      : device(device_blocks) {
    auto gated = std::make_unique<GatedTransfer>(device.pool(), host_slots);
    transfer = gated.get();
    tier = std::make_unique<CpuOffloadConnector>(config, device.pool(), std::move(gated), &sink);
  }
  // Submits the step's stores, lands every copy, and reports what finished.
  KvConnector::Completed finish_all() {
    tier->poll();
    transfer->complete_all();
    return tier->poll();
  }

  FakePool device;
  GatedTransfer* transfer = nullptr;
  RecordingSink sink;
  std::unique_ptr<CpuOffloadConnector> tier;
};

}  // namespace kvtier::kv::testing
