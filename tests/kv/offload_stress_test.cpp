// Thousands of random operations on the offload tier, checked after each one against what the
// tier must guarantee: capacity, dedup, pinned and storing blocks never evicted, loads bit-exact,
// and an event stream that always describes exactly the ready blocks.
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "kv/offload/cpu_transfer.h"
#include "kv/offload/offload_connector.h"
#include "offload_fakes.h"

namespace kvtier::kv {
namespace {

using testing::FakePool;
using testing::GatedTransfer;
using testing::RecordingSink;
using State = CpuOffloadConnector::BlockState;

constexpr int32_t kCpuBlocks = 12;
constexpr int32_t kDeviceBlocks = 24;
constexpr uint64_t kHashes = 40;

class Harness {
 public:
  Harness(EvictionPolicyKind policy, bool gated, uint64_t seed)
      : device_(kDeviceBlocks), rng_(seed) {
    OffloadConfig config;
    config.num_cpu_blocks = kCpuBlocks;
    config.eviction_policy = policy;
    std::unique_ptr<BlockTransfer> transfer;
    if (gated) {
      auto g = std::make_unique<GatedTransfer>(device_.pool(), kCpuBlocks);
      gated_ = g.get();
      transfer = std::move(g);
    } else {
      transfer = std::move(
          create_cpu_block_transfer(device_.pool(), kCpuBlocks, {.num_threads = 2}).value());
    }
    tier_ =
        std::make_unique<CpuOffloadConnector>(config, device_.pool(), std::move(transfer), &sink_);
    for (int32_t b = 0; b < kDeviceBlocks; ++b) free_device_.insert(b);
  }

  void step() {
    switch (rng_() % 6) {
      case 0:
      case 1:
        offer();
        break;
      case 2:
        load();
        break;
      case 3:
        lookup();
        break;
      case 4:
        if (gated_) complete_some();
        break;
      default:
        poll();
    }
    check();
  }

  void finish() {
    tier_->drain();
    poll();
    if (gated_) {
      gated_->complete_all();
      poll();
    }
    EXPECT_TRUE(storing_.empty());
    EXPECT_TRUE(loading_.empty());
    EXPECT_EQ(tier_->stats().stores_in_flight, 0);
    EXPECT_EQ(tier_->stats().loads_in_flight, 0);
  }

  uint64_t loads_verified() const { return loads_verified_; }
  uint64_t evictions() const { return tier_->stats().evictions; }

 private:
  int32_t take_device_block() {
    auto it = free_device_.begin();
    std::advance(it, rng_() % free_device_.size());
    const int32_t b = *it;
    free_device_.erase(it);
    return b;
  }

  void offer() {
    if (free_device_.empty()) return;
    const uint64_t hash = 1 + rng_() % kHashes;
    const int32_t block = take_device_block();
    device_.fill(block, hash);
    const State before = tier_->state(hash);
    const bool queued = tier_->offer_store(hash, block);
    if (before != State::kAbsent) {
      ASSERT_FALSE(queued) << "stored twice: " << hash;
    }
    if (queued) {
      ASSERT_EQ(tier_->state(hash), State::kStoring);
      storing_[block] = hash;  // the engine keeps the block until poll() says stored
    } else {
      free_device_.insert(block);
    }
  }

  void load() {
    std::vector<uint64_t> chain;
    for (int i = 0, n = 1 + int(rng_() % 4); i < n; ++i) chain.push_back(1 + rng_() % kHashes);
    const int32_t hits = tier_->lookup(chain);
    if (hits == 0 || free_device_.size() < size_t(hits)) return;
    chain.resize(hits);
    std::vector<int32_t> dst;
    for (int32_t i = 0; i < hits; ++i) dst.push_back(take_device_block());
    for (int32_t b : dst) device_.clear(b);
    const TransferId id = tier_->start_load(chain, dst);
    for (uint64_t h : chain) ASSERT_GE(tier_->pins(h), 1);
    loading_[id] = {chain, dst};
  }

  void lookup() {
    std::vector<uint64_t> chain;
    for (int i = 0, n = 1 + int(rng_() % 5); i < n; ++i) chain.push_back(1 + rng_() % kHashes);
    int32_t expected = 0;
    while (expected < int32_t(chain.size()) && tier_->state(chain[expected]) == State::kReady)
      ++expected;
    ASSERT_EQ(tier_->lookup(chain), expected);
  }

  void complete_some() {
    for (TransferDirection d : {TransferDirection::kStore, TransferDirection::kLoad}) {
      for (uint64_t ticket : gated_->pending_tickets(d)) {
        if (rng_() % 2) gated_->complete(ticket);
      }
    }
  }

  void poll() {
    const auto done = tier_->poll();
    for (int32_t block : done.stored_blocks) {
      auto it = storing_.find(block);
      ASSERT_NE(it, storing_.end()) << "stored block " << block << " was not being stored";
      ASSERT_EQ(tier_->state(it->second), State::kReady);
      storing_.erase(it);
      free_device_.insert(block);
    }
    for (TransferId id : done.loads) {
      auto it = loading_.find(id);
      ASSERT_NE(it, loading_.end()) << "unknown load " << id;
      const auto& [hashes, dst] = it->second;
      for (size_t i = 0; i < hashes.size(); ++i) {
        ASSERT_TRUE(device_.holds(dst[i], hashes[i]))
            << "load of " << hashes[i] << " is not bit-exact";
        free_device_.insert(dst[i]);
        ++loads_verified_;
      }
      loading_.erase(it);
    }
    // Replay the CPU events: they must describe exactly the ready blocks.
    for (; removed_seen_ < sink_.removed.size(); ++removed_seen_) {
      for (uint64_t h : sink_.removed[removed_seen_].block_hashes) {
        ASSERT_EQ(announced_.erase(h), 1u) << "removed " << h << " that was never stored";
      }
    }
    for (; stored_seen_ < sink_.stored.size(); ++stored_seen_) {
      for (uint64_t h : sink_.stored[stored_seen_].block_hashes) {
        ASSERT_TRUE(announced_.insert(h).second) << "stored " << h << " twice";
      }
    }
    for (uint64_t h = 1; h <= kHashes; ++h) {
      ASSERT_EQ(announced_.contains(h), tier_->state(h) == State::kReady)
          << "events disagree on " << h;
    }
  }

  void check() {
    const ConnectorStats s = tier_->stats();
    ASSERT_LE(s.num_used_blocks, kCpuBlocks);
    std::set<int32_t> slots;
    int32_t used = 0;
    for (uint64_t h = 1; h <= kHashes; ++h) {
      if (tier_->state(h) == State::kAbsent) continue;
      ++used;
      const int32_t slot = *tier_->host_slot(h);
      ASSERT_TRUE(slot >= 0 && slot < kCpuBlocks);
      ASSERT_TRUE(slots.insert(slot).second) << "slot " << slot << " shared";
      ASSERT_EQ(tier_->policy().contains(h), true) << h << " resident but unknown to the policy";
    }
    ASSERT_EQ(used, s.num_used_blocks);
    // Blocks being stored or loaded are still there.
    for (const auto& [block, hash] : storing_) ASSERT_NE(tier_->state(hash), State::kAbsent);
    int32_t pinned_blocks = 0;
    for (const auto& [id, load] : loading_) {
      for (uint64_t h : load.first) ASSERT_EQ(tier_->state(h), State::kReady);
      pinned_blocks += int32_t(load.first.size());
    }
    ASSERT_EQ(s.loads_in_flight, pinned_blocks);
    ASSERT_EQ(s.stores_in_flight, int32_t(storing_.size()));
  }

  FakePool device_;
  std::mt19937_64 rng_;
  GatedTransfer* gated_ = nullptr;
  RecordingSink sink_;
  std::unique_ptr<CpuOffloadConnector> tier_;
  std::set<int32_t> free_device_;
  std::map<int32_t, uint64_t> storing_;  // device block -> hash
  std::map<TransferId, std::pair<std::vector<uint64_t>, std::vector<int32_t>>> loading_;
  std::set<uint64_t> announced_;
  size_t stored_seen_ = 0, removed_seen_ = 0;
  uint64_t loads_verified_ = 0;
};

class OffloadStress : public ::testing::TestWithParam<EvictionPolicyKind> {};

TEST_P(OffloadStress, GatedTransfersInRandomOrder) {
  for (uint64_t seed : {1, 2, 3}) {
    Harness h(GetParam(), /*gated=*/true, seed);
    for (int i = 0; i < 5000; ++i) {
      ASSERT_NO_FATAL_FAILURE(h.step()) << "seed " << seed << " op " << i;
    }
    ASSERT_NO_FATAL_FAILURE(h.finish());
    EXPECT_GT(h.loads_verified(), 100u);
    EXPECT_GT(h.evictions(), 100u);
  }
}

TEST_P(OffloadStress, CpuWorkerThreads) {
  Harness h(GetParam(), /*gated=*/false, 11);
  // How many loads complete within a number of operations depends on how fast the workers copy
  // (slow on a loaded machine): go on past 4,000 operations until 150 loads were checked.
  for (int i = 0; i < 4000 || (h.loads_verified() < 150 && i < 400000); ++i) {
    ASSERT_NO_FATAL_FAILURE(h.step()) << "op " << i;
  }
  ASSERT_NO_FATAL_FAILURE(h.finish());
  EXPECT_GT(h.loads_verified(), 100u);
}

INSTANTIATE_TEST_SUITE_P(Policies, OffloadStress,
                         ::testing::Values(EvictionPolicyKind::kLru, EvictionPolicyKind::kArc),
                         [](const auto& info) {
                           return std::string(eviction_policy_name(info.param));
                         });

}  // namespace
}  // namespace kvtier::kv
