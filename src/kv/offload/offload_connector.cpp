#include "kv/offload/offload_connector.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace kvtier::kv {

CpuOffloadConnector::CpuOffloadConnector(const OffloadConfig& config, const KvPool& pool,
                                         std::unique_ptr<BlockTransfer> transfer,
                                         KvEventSink* events)
    : config_(config),
      pool_(pool),
      transfer_(std::move(transfer)),
      policy_(make_eviction_policy(config.eviction_policy, config.num_cpu_blocks)),
      events_(events) {
  const int32_t slots = std::min(config_.num_cpu_blocks, transfer_->num_host_slots());
  entries_.reserve(size_t(slots));
  free_slots_.reserve(size_t(slots));
  // Popped from the back: slot 0 is used first.
  for (int32_t s = slots - 1; s >= 0; --s) free_slots_.push_back(s);
  totals_.num_blocks = slots;
}

CpuOffloadConnector::~CpuOffloadConnector() {
  // Copies in flight touch the device pool, which must outlive the tier: finish them first.
  transfer_->wait_all();
}

int32_t CpuOffloadConnector::lookup(std::span<const uint64_t> hashes) {
  if (config_.role == KvRole::kProducer) return 0;
  int32_t hits = 0;
  for (uint64_t hash : hashes) {
    auto it = entries_.find(hash);
    if (it == entries_.end() || !it->second.ready) break;
    ++hits;
  }
  return hits;
}

TransferId CpuOffloadConnector::start_load(std::span<const uint64_t> hashes,
                                           std::span<const int32_t> dst) {
  if (hashes.size() != dst.size()) {
    spdlog::error(
        "offload tier: start_load got {} hashes for {} device blocks; loading the first {}",
        hashes.size(), dst.size(), std::min(hashes.size(), dst.size()));
  }
  const size_t n = std::min(hashes.size(), dst.size());
  std::vector<uint64_t> loading;
  loading.reserve(n);
  copies_.clear();
  for (size_t i = 0; i < n; ++i) {
    auto it = entries_.find(hashes[i]);
    if (it == entries_.end() || !it->second.ready || dst[i] < 0 || dst[i] >= pool_.num_blocks) {
      spdlog::error("offload tier: start_load of block {:#x} into device block {}: not loadable",
                    hashes[i], dst[i]);
      continue;
    }
    if (it->second.loads++ == 0) --num_evictable_;
    copies_.push_back({dst[i], it->second.slot});
    loading.push_back(hashes[i]);
  }
  // Last block first, so the head of the chain ends up the most recent.
  for (auto it = loading.rbegin(); it != loading.rend(); ++it) policy_->touch(*it);
  const uint64_t ticket = transfer_->submit(TransferDirection::kLoad, copies_);
  load_blocks_in_flight_ += int32_t(loading.size());
  loads_in_flight_.emplace(ticket, std::move(loading));
  return ticket;
}

bool CpuOffloadConnector::offer_store(uint64_t hash, int32_t device_block) {
  if (config_.role == KvRole::kConsumer) return false;
  if (device_block < 0 || device_block >= pool_.num_blocks) {
    spdlog::error(
        "offload tier: offer_store of block {:#x} from device block {} outside the pool of {}",
        hash, device_block, pool_.num_blocks);
    return false;
  }
  if (auto it = entries_.find(hash); it != entries_.end()) {
    if (it->second.ready) {
      // Offered again: the prefix was computed again on the device, a use of the block.
      policy_->touch(hash);
      step_order_.push_back(hash);
    }
    return false;
  }
  // Refuse before touching any state: every block is in flight.
  if (free_slots_.empty() && num_evictable_ == 0) return false;
  // The policy learns of the block before choosing a victim (ARC adapts to a returning block
  // first); the new block is not evictable, having no entry yet.
  policy_->insert(hash);
  const std::optional<int32_t> slot = take_slot();
  if (!slot) {
    spdlog::error("offload tier: {} blocks counted evictable but the policy found none",
                  num_evictable_);
    policy_->erase(hash);
    return false;
  }
  entries_.emplace(hash, Entry{*slot, false, 0});
  queued_stores_.push_back({hash, device_block});
  step_order_.push_back(hash);
  return true;
}

bool CpuOffloadConnector::evictable(uint64_t hash) const {
  auto it = entries_.find(hash);
  return it != entries_.end() && it->second.ready && it->second.loads == 0;
}

std::optional<int32_t> CpuOffloadConnector::take_slot() {
  if (!free_slots_.empty()) {
    const int32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  const std::optional<uint64_t> victim =
      policy_->evict([this](uint64_t h) { return evictable(h); });
  if (!victim) return std::nullopt;
  auto it = entries_.find(*victim);
  const int32_t slot = it->second.slot;
  entries_.erase(it);
  --num_evictable_;
  evicted_.push_back(*victim);
  ++totals_.evictions;
  return slot;
}

void CpuOffloadConnector::apply_step_order() {
  // Last offered first, so the first block of a chain ends up the most recent.
  for (auto it = step_order_.rbegin(); it != step_order_.rend(); ++it) policy_->requeue(*it);
  step_order_.clear();
}

void CpuOffloadConnector::submit_stores() {
  apply_step_order();
  if (queued_stores_.empty()) return;
  copies_.clear();
  for (const StoreItem& item : queued_stores_)
    copies_.push_back({item.device_block, entries_.at(item.hash).slot});
  const uint64_t ticket = transfer_->submit(TransferDirection::kStore, copies_);
  store_blocks_in_flight_ += int32_t(queued_stores_.size());
  stores_in_flight_.emplace(ticket, std::move(queued_stores_));
  queued_stores_ = {};
  queued_stores_.reserve(64);
}

KvConnector::Completed CpuOffloadConnector::poll() {
  submit_stores();
  Completed out;
  completions_.clear();
  transfer_->poll(completions_);
  for (const TransferCompletion& done : completions_) finish(done, out);
  emit_events();
  return out;
}

void CpuOffloadConnector::finish(const TransferCompletion& done, Completed& out) {
  if (done.direction == TransferDirection::kStore) {
    auto node = stores_in_flight_.extract(done.ticket);
    if (node.empty()) return;
    for (const StoreItem& item : node.mapped()) {
      Entry& entry = entries_.at(item.hash);
      entry.ready = true;
      ++num_evictable_;
      out.stored_blocks.push_back(item.device_block);
      stored_.push_back(item.hash);
    }
    const auto n = node.mapped().size();
    store_blocks_in_flight_ -= int32_t(n);
    totals_.store_bytes += done.bytes;
    totals_.store_seconds += done.seconds;
    totals_.stores += 1;
    totals_.stored_blocks += n;
    return;
  }
  auto node = loads_in_flight_.extract(done.ticket);
  if (node.empty()) return;
  for (uint64_t hash : node.mapped()) {
    if (--entries_.at(hash).loads == 0) ++num_evictable_;
  }
  const auto n = node.mapped().size();
  load_blocks_in_flight_ -= int32_t(n);
  totals_.load_bytes += done.bytes;
  totals_.load_seconds += done.seconds;
  totals_.loads += 1;
  totals_.loaded_blocks += n;
  out.loads.push_back(done.ticket);
}

void CpuOffloadConnector::emit_events() {
  if (events_ != nullptr) {
    // Removals first: a hash evicted and stored again in one poll must end up present.
    if (!evicted_.empty()) events_->block_removed({evicted_, "CPU"});
    if (!stored_.empty())
      events_->block_stored({stored_, std::nullopt, {}, config_.block_size, "CPU"});
  }
  evicted_.clear();
  stored_.clear();
}

void CpuOffloadConnector::drain() {
  submit_stores();
  transfer_->wait_all();
}

ConnectorStats CpuOffloadConnector::stats() const {
  ConnectorStats s = totals_;
  s.num_used_blocks = int32_t(entries_.size());
  s.loads_in_flight = load_blocks_in_flight_;
  s.stores_in_flight = store_blocks_in_flight_ + int32_t(queued_stores_.size());
  return s;
}

CpuOffloadConnector::BlockState CpuOffloadConnector::state(uint64_t hash) const {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return BlockState::kAbsent;
  return it->second.ready ? BlockState::kReady : BlockState::kStoring;
}

int32_t CpuOffloadConnector::pins(uint64_t hash) const {
  auto it = entries_.find(hash);
  return it == entries_.end() ? 0 : it->second.loads;
}

std::optional<int32_t> CpuOffloadConnector::host_slot(uint64_t hash) const {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return std::nullopt;
  return it->second.slot;
}

}  // namespace kvtier::kv
