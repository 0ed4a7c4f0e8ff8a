#pragma once
// A second KV tier for tests: blocks copied to and from host memory, each transfer completing
// after a set number of poll() calls, so tests control when loads land. The Nth load or store
// (fail_load_number, fail_store_number; 1 is the first) can fail as a broken copy would: a
// failed load leaves garbage in its device blocks and drops the blocks it read, a failed store
// keeps nothing.
#include <cstring>
#include <map>
#include <unordered_map>
#include <vector>

#include "kv/connector.h"
#include "kv/pool.h"

namespace kvtier::engine::testing {

class FakeConnector : public kv::KvConnector {
 public:
  FakeConnector(const kv::KvPool& pool, int32_t load_polls, int32_t store_polls = 1)
      : pool_(pool), load_polls_(load_polls), store_polls_(store_polls) {}

  int32_t lookup(std::span<const uint64_t> hashes) override {
    ++lookups;
    int32_t n = 0;
    while (size_t(n) < hashes.size() && held_.count(hashes[size_t(n)])) ++n;
    return n;
  }

  kv::TransferId start_load(std::span<const uint64_t> hashes,
                            std::span<const int32_t> dst) override {
    const kv::TransferId id = next_id_++;
    Load load{std::vector<uint64_t>(hashes.begin(), hashes.end()),
              std::vector<int32_t>(dst.begin(), dst.end()), load_polls_,
              ++loads_started == fail_load_number};
    for (uint64_t h : hashes) ++pinned_[h];
    loads_.emplace(id, std::move(load));
    blocks_loaded += int64_t(hashes.size());
    return id;
  }

  bool offer_store(uint64_t hash, int32_t device_block) override {
    if (!accept_stores || held_.count(hash) || storing_.count(hash)) return false;
    storing_[hash] = Store{device_block, store_polls_, ++stores_queued == fail_store_number};
    return true;
  }

  Completed poll() override {
    ++polls;
    Completed done;
    for (auto it = loads_.begin(); it != loads_.end();) {
      if (--it->second.polls_left > 0) {
        ++it;
        continue;
      }
      const Load& load = it->second;
      for (size_t i = 0; i < load.hashes.size(); ++i) {
        std::byte* dst = pool_.block(load.dst[i]);
        if (load.fail) {
          std::memset(dst, 0xA5, pool_.layout.block_bytes());
        } else {
          const auto& bytes = held_.at(load.hashes[i]);
          std::memcpy(dst, bytes.data(), bytes.size());
        }
        --pinned_[load.hashes[i]];
      }
      if (load.fail) {
        for (uint64_t h : load.hashes) {
          if (pinned_[h] == 0) held_.erase(h);
        }
        ++failed_loads;
        done.failed_loads.push_back(it->first);
      } else {
        done.loads.push_back(it->first);
      }
      it = loads_.erase(it);
    }
    for (auto it = storing_.begin(); it != storing_.end();) {
      if (--it->second.polls_left > 0) {
        ++it;
        continue;
      }
      if (it->second.fail) {
        ++failed_stores;
      } else {
        const std::byte* src = pool_.block(it->second.block);
        held_[it->first].assign(src, src + pool_.layout.block_bytes());
      }
      done.stored_blocks.push_back(it->second.block);
      it = storing_.erase(it);
    }
    return done;
  }

  // Everything in flight completes at the next poll(), which reports it.
  void drain() override {
    ++drains;
    for (auto& [id, l] : loads_) l.polls_left = 1;
    for (auto& [h, s] : storing_) s.polls_left = 1;
  }

  kv::ConnectorStats stats() const override {
    kv::ConnectorStats s;
    s.num_blocks = 1000;
    s.num_used_blocks = int32_t(held_.size());
    s.loads_in_flight = int32_t(loads_.size());
    s.stores_in_flight = int32_t(storing_.size());
    s.failed_loads = uint64_t(failed_loads);
    s.failed_stores = uint64_t(failed_stores);
    return s;
  }

  bool store_prompt_only() const override { return prompt_only; }

  // Device blocks that transfers in flight are using (for reference-count checks).
  std::map<int32_t, int32_t> blocks_in_flight() const {
    std::map<int32_t, int32_t> m;
    for (const auto& [id, l] : loads_) {
      for (int32_t b : l.dst) ++m[b];
    }
    for (const auto& [h, s] : storing_) ++m[s.block];
    return m;
  }
  bool holds(uint64_t hash) const { return held_.count(hash) != 0; }
  // Drops every block no load is reading.
  void forget_all() {
    std::erase_if(held_, [&](const auto& kv) { return pinned_[kv.first] == 0; });
  }
  size_t num_held() const { return held_.size(); }

  bool accept_stores = true;
  bool prompt_only = false;
  int64_t lookups = 0, loads_started = 0, blocks_loaded = 0, stores_queued = 0, polls = 0;
  int64_t drains = 0;
  int64_t fail_load_number = 0, fail_store_number = 0;  // 0: none fails
  int64_t failed_loads = 0, failed_stores = 0;

 private:
  struct Load {
    std::vector<uint64_t> hashes;
    std::vector<int32_t> dst;
    int32_t polls_left;
    bool fail;
  };
  struct Store {
    int32_t block;
    int32_t polls_left;
    bool fail;
  };
  kv::KvPool pool_;
  int32_t load_polls_, store_polls_;
  kv::TransferId next_id_ = 1;
  std::unordered_map<uint64_t, std::vector<std::byte>> held_;
  std::unordered_map<uint64_t, int32_t> pinned_;
  std::map<kv::TransferId, Load> loads_;
  std::map<uint64_t, Store> storing_;
};

}  // namespace kvtier::engine::testing
