#include "router/kv_block_index.h"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace kvtier::router {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

KvBlockIndex::KvBlockIndex(size_t num_endpoints, std::vector<TierWeight> tiers,
                           size_t max_keys_per_endpoint)
    : tiers_(std::move(tiers)),
      max_keys_(max_keys_per_endpoint),
      blocks_(num_endpoints),
      speculative_(num_endpoints) {
  if (tiers_.size() > 8) tiers_.resize(8);
}

int KvBlockIndex::tier_of(std::string_view medium) const {
  for (size_t i = 0; i < tiers_.size(); ++i) {
    if (iequals(tiers_[i].name, medium)) return int(i);
  }
  return -1;
}

void KvBlockIndex::apply(size_t endpoint, const KvEvent& event) {
  if (endpoint >= blocks_.size()) return;
  std::unique_lock lock(mu_);
  auto& blocks = blocks_[endpoint];
  if (const auto* stored = std::get_if<kv::BlockStoredEvent>(&event)) {
    const int tier = tier_of(stored->medium);
    if (tier < 0) {
      ++ignored_events_;
      return;
    }
    for (uint64_t key : stored->block_hashes) {
      auto it = blocks.find(key);
      if (it == blocks.end()) {
        if (blocks.size() >= max_keys_) {
          ++ignored_events_;
          continue;
        }
        it = blocks.emplace(key, uint8_t{0}).first;
      }
      it->second |= uint8_t(1u << tier);
    }
  } else if (const auto* removed = std::get_if<kv::BlockRemovedEvent>(&event)) {
    const int tier = tier_of(removed->medium);
    if (tier < 0) {
      ++ignored_events_;
      return;
    }
    for (uint64_t key : removed->block_hashes) {
      auto it = blocks.find(key);
      if (it == blocks.end()) continue;
      it->second &= uint8_t(~(1u << tier));
      if (it->second == 0) blocks.erase(it);
    }
  } else {
    blocks.clear();
  }
}

void KvBlockIndex::clear(size_t endpoint) {
  if (endpoint >= blocks_.size()) return;
  std::unique_lock lock(mu_);
  blocks_[endpoint].clear();
  speculative_[endpoint].clear();
}

void KvBlockIndex::add_speculative(size_t endpoint, std::span<const uint64_t> keys,
                                   Clock::time_point expires) {
  if (endpoint >= speculative_.size() || tiers_.empty()) return;
  std::unique_lock lock(mu_);
  purge_speculative_locked(Clock::now());
  auto& spec = speculative_[endpoint];
  for (uint64_t key : keys) {
    if (spec.size() >= max_keys_ && !spec.count(key)) break;
    spec[key] = expires;
    expiries_.push_back({expires, endpoint, key});
  }
}

void KvBlockIndex::purge_speculative_locked(Clock::time_point now) {
  while (!expiries_.empty() && expiries_.front().at <= now) {
    const Expiry& e = expiries_.front();
    auto& spec = speculative_[e.endpoint];
    // A key routed again later carries a later expiry: only the latest entry removes it.
    if (auto it = spec.find(e.key); it != spec.end() && it->second <= now) spec.erase(it);
    expiries_.pop_front();
  }
}

double KvBlockIndex::weighted_prefix(size_t endpoint, std::span<const uint64_t> keys,
                                     Clock::time_point now) const {
  if (endpoint >= blocks_.size()) return 0;
  std::shared_lock lock(mu_);
  const auto& blocks = blocks_[endpoint];
  const auto& spec = speculative_[endpoint];
  double total = 0;
  for (uint64_t key : keys) {
    double best = 0;
    bool held = false;
    if (auto it = blocks.find(key); it != blocks.end()) {
      for (size_t t = 0; t < tiers_.size(); ++t) {
        if (it->second & (1u << t)) {
          best = std::max(best, tiers_[t].weight);
          held = true;
        }
      }
    }
    if (!spec.empty()) {
      if (auto it = spec.find(key); it != spec.end() && it->second > now) {
        best = std::max(best, tiers_[0].weight);
        held = true;
      }
    }
    if (!held) break;
    total += best;
  }
  return total;
}

size_t KvBlockIndex::count(size_t endpoint, std::string_view tier) const {
  const int t = tier_of(tier);
  if (endpoint >= blocks_.size() || t < 0) return 0;
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [key, mask] : blocks_[endpoint]) n += (mask >> t) & 1u;
  return n;
}

uint64_t KvBlockIndex::ignored_events() const {
  std::shared_lock lock(mu_);
  return ignored_events_;
}

}  // namespace kvtier::router
