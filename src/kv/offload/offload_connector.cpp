#include "kv/offload/offload_connector.h"

#include <algorithm>
#include <string_view>

#include <spdlog/spdlog.h>

namespace kvtier::kv {

CpuOffloadConnector::CpuOffloadConnector(const OffloadConfig& config, const KvPool& pool,
                                         std::unique_ptr<BlockTransfer> transfer,
                                         KvEventSink* events)
    : config_(config),
      pool_(pool),
      k_(config.blocks_per_group(pool.layout)),
      transfer_(std::move(transfer)),
      policy_(make_eviction_policy(config.eviction_policy, config.num_cpu_blocks)),
      events_(events) {
  const int32_t slots = std::min(config_.num_cpu_blocks, transfer_->num_host_slots() / k_);
  entries_.reserve(size_t(slots));
  free_slots_.reserve(size_t(slots));
  // Popped from the back: slot 0 is used first.
  for (int32_t s = slots - 1; s >= 0; --s) free_slots_.push_back(s);
  totals_.num_blocks = slots;
  totals_.store_sizes = empty_histogram(kv_offload_size_buckets());
  totals_.load_sizes = empty_histogram(kv_offload_size_buckets());
}

CpuOffloadConnector::~CpuOffloadConnector() {
  // Copies in flight touch the device pool, which must outlive the tier: finish them first.
  transfer_->wait_all();
}

bool CpuOffloadConnector::positions_unknown(const char* call) {
  if (k_ == 1) return false;
  if (!warned_positions_) {
    warned_positions_ = true;
    spdlog::error(
        "offload tier: {}() cannot place a block in its sequence, which block_size {} ({} GPU "
        "blocks per CPU block) needs; the caller must use the chain calls, so nothing is {}",
        call, config_.block_size, k_, std::string_view(call) == "offer_store" ? "stored" : "found");
  }
  return true;
}

int32_t CpuOffloadConnector::lookup(std::span<const uint64_t> hashes) {
  if (positions_unknown("lookup")) return 0;
  return lookup_chain(hashes, 0);
}

int32_t CpuOffloadConnector::lookup_chain(std::span<const uint64_t> chain, int32_t first) {
  if (config_.role == KvRole::kProducer || first < 0) return 0;
  const auto n = int64_t(chain.size());
  int64_t group = first / k_;
  int64_t end = first;
  while ((group + 1) * k_ <= n) {
    auto it = entries_.find(chain[size_t((group + 1) * k_ - 1)]);
    if (it == entries_.end() || !findable(it->second)) break;
    end = (group + 1) * k_;
    ++group;
  }
  return int32_t(end - first);
}

TransferId CpuOffloadConnector::start_load(std::span<const uint64_t> hashes,
                                           std::span<const int32_t> dst) {
  if (positions_unknown("start_load")) {
    // Nothing can be loaded: the load fails at the next poll(), so the caller recomputes.
    const uint64_t ticket = transfer_->submit(TransferDirection::kLoad, {});
    loads_in_flight_.emplace(
        ticket, LoadBatch{{},
                          0,
                          invalid_argument("start_load() of {} blocks with {} GPU blocks per CPU "
                                           "block: the chain calls are needed",
                                           dst.size(), k_)});
    return ticket;
  }
  return start_load_chain(hashes, 0, dst);
}

TransferId CpuOffloadConnector::start_load_chain(std::span<const uint64_t> chain, int32_t first,
                                                 std::span<const int32_t> dst) {
  std::vector<uint64_t> loading;  // CPU blocks read, each once
  Status refused;
  copies_.clear();
  for (size_t i = 0; i < dst.size(); ++i) {
    const int64_t index = int64_t(first) + int64_t(i);
    const int64_t last = (index / k_ + 1) * k_ - 1;  // the group's key block
    Entry* entry = nullptr;
    if (first >= 0 && last < int64_t(chain.size())) {
      auto it = entries_.find(chain[size_t(last)]);
      if (it != entries_.end() && findable(it->second)) entry = &it->second;
    }
    if (entry == nullptr || dst[i] < 0 || dst[i] >= pool_.num_blocks) {
      // The load as a whole fails (at its completion): its device block would hold garbage.
      if (refused.is_ok()) {
        refused = invalid_argument(
            "sequence block {} into device block {} is not loadable (not in the tier, or outside "
            "the pool of {} blocks)",
            index, dst[i], pool_.num_blocks);
      }
      continue;
    }
    if (loading.empty() || loading.back() != chain[size_t(last)]) {
      if (entry->loads++ == 0) --num_evictable_;
      loading.push_back(chain[size_t(last)]);
    }
    copies_.push_back({dst[i], entry->slot * k_ + int32_t(index % k_)});
  }
  // Last block first, so the head of the chain ends up the most recent.
  for (auto it = loading.rbegin(); it != loading.rend(); ++it) policy_->touch(*it);
  const uint64_t ticket = transfer_->submit(TransferDirection::kLoad, copies_);
  load_blocks_in_flight_ += int32_t(copies_.size());
  loads_in_flight_.emplace(
      ticket, LoadBatch{std::move(loading), int32_t(copies_.size()), std::move(refused)});
  return ticket;
}

bool CpuOffloadConnector::offer_store(uint64_t hash, int32_t device_block) {
  if (positions_unknown("offer_store")) return false;
  return offer_group(hash, std::span<const int32_t>(&device_block, 1));
}

bool CpuOffloadConnector::offer_chain(std::span<const uint64_t> chain,
                                      std::span<const int32_t> table, int32_t index) {
  if (index < 0 || size_t(index) >= chain.size() || size_t(index) >= table.size()) {
    spdlog::error("offload tier: offer of sequence block {} outside its {} hashes / {} blocks",
                  index, chain.size(), table.size());
    return false;
  }
  if ((index + 1) % k_ != 0) return false;  // the group is not full yet
  return offer_group(chain[size_t(index)], table.subspan(size_t(index + 1 - k_), size_t(k_)));
}

bool CpuOffloadConnector::offer_group(uint64_t key, std::span<const int32_t> device_blocks) {
  if (config_.role == KvRole::kConsumer) return false;
  for (int32_t block : device_blocks) {
    if (block < 0 || block >= pool_.num_blocks) {
      spdlog::error(
          "offload tier: offer_store of block {:#x} from device block {} outside the pool of {}",
          key, block, pool_.num_blocks);
      return false;
    }
  }
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (findable(it->second)) {
      // Offered again: the prefix was computed again on the device, a use of the block.
      policy_->touch(key);
      step_order_.push_back(key);
    }
    return false;
  }
  // Refuse before touching any state: every block is in flight.
  if (free_slots_.empty() && num_evictable_ == 0) return false;
  // The policy learns of the block before choosing a victim (ARC adapts to a returning block
  // first); the new block is not evictable, having no entry yet.
  policy_->insert(key);
  const std::optional<int32_t> slot = take_slot();
  if (!slot) {
    spdlog::error("offload tier: {} blocks counted evictable but the policy found none",
                  num_evictable_);
    policy_->erase(key);
    return false;
  }
  entries_.emplace(key, Entry{*slot, false, 0});
  queued_stores_.keys.push_back(key);
  queued_stores_.blocks.insert(queued_stores_.blocks.end(), device_blocks.begin(),
                               device_blocks.end());
  step_order_.push_back(key);
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
  if (queued_stores_.keys.empty()) return;
  copies_.clear();
  for (size_t i = 0; i < queued_stores_.keys.size(); ++i) {
    const int32_t base = entries_.at(queued_stores_.keys[i]).slot * k_;
    for (int32_t j = 0; j < k_; ++j)
      copies_.push_back({queued_stores_.blocks[i * size_t(k_) + size_t(j)], base + j});
  }
  const uint64_t ticket = transfer_->submit(TransferDirection::kStore, copies_);
  store_blocks_in_flight_ += int32_t(queued_stores_.blocks.size());
  stores_in_flight_.emplace(ticket, std::move(queued_stores_));
  queued_stores_ = {};
  queued_stores_.keys.reserve(64);
  queued_stores_.blocks.reserve(64 * size_t(k_));
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
    finish_store(done, out);
  } else {
    finish_load(done, out);
  }
}

void CpuOffloadConnector::finish_store(const TransferCompletion& done, Completed& out) {
  auto node = stores_in_flight_.extract(done.ticket);
  if (node.empty()) return;
  const StoreBatch& batch = node.mapped();
  if (done.ok()) {
    for (uint64_t key : batch.keys) {
      entries_.at(key).ready = true;
      ++num_evictable_;
      stored_.push_back(key);
    }
    totals_.store_bytes += done.bytes;
    totals_.store_seconds += done.seconds;
    totals_.stores += 1;
    observe(totals_.store_sizes, double(done.bytes));
    totals_.stored_blocks += batch.blocks.size();
  } else {
    // The slots hold no trustworthy copy: the blocks were never announced and never become hits.
    for (uint64_t key : batch.keys) remove(key);
    totals_.failed_stores += 1;
    failure_log_.failed(TransferDirection::kStore, done.ticket, batch.blocks.size(), done.status,
                        fmt::format("its {} CPU blocks are dropped", batch.keys.size()));
  }
  // The device blocks are released alike: the engine stops holding them either way.
  out.stored_blocks.insert(out.stored_blocks.end(), batch.blocks.begin(), batch.blocks.end());
  store_blocks_in_flight_ -= int32_t(batch.blocks.size());
}

void CpuOffloadConnector::finish_load(const TransferCompletion& done, Completed& out) {
  auto node = loads_in_flight_.extract(done.ticket);
  if (node.empty()) return;
  LoadBatch& batch = node.mapped();
  // A load that asked for a block the tier could not give fails too (its device block holds
  // nothing), but only a failed copy makes the slots it read untrustworthy.
  const Status& failure = done.ok() ? batch.refused : done.status;
  const bool failed = !failure.is_ok();
  const bool copy_failed = !done.ok();
  for (uint64_t key : batch.keys) {
    Entry& entry = entries_.at(key);
    // The copy out of the slot failed: the slot itself is not trusted any more either. It is
    // announced as removed now; its slot is freed once no other load reads it.
    if (copy_failed && !entry.dropped) {
      entry.dropped = true;
      evicted_.push_back(key);
    }
    if (--entry.loads > 0) continue;
    if (entry.dropped) {
      remove(key);
    } else {
      ++num_evictable_;
    }
  }
  const int32_t n = batch.blocks;
  load_blocks_in_flight_ -= n;
  if (failed) {
    totals_.failed_loads += 1;
    failure_log_.failed(TransferDirection::kLoad, done.ticket, size_t(n), failure,
                        fmt::format("{} CPU blocks dropped, the request recomputes them",
                                    copy_failed ? batch.keys.size() : 0));
    out.failed_loads.push_back(done.ticket);
    return;
  }
  totals_.load_bytes += done.bytes;
  totals_.load_seconds += done.seconds;
  totals_.loads += 1;
  observe(totals_.load_sizes, double(done.bytes));
  totals_.loaded_blocks += uint64_t(n);
  out.loads.push_back(done.ticket);
}

void CpuOffloadConnector::remove(uint64_t key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  // A ready block was announced as stored: it leaves with a BlockRemoved event (a dropped one
  // already has).
  if (it->second.ready && !it->second.dropped) evicted_.push_back(key);
  free_slots_.push_back(it->second.slot);
  policy_->erase(key);
  entries_.erase(it);
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
  s.stores_in_flight = store_blocks_in_flight_ + int32_t(queued_stores_.blocks.size());
  return s;
}

CpuOffloadConnector::BlockState CpuOffloadConnector::state(uint64_t hash) const {
  auto it = entries_.find(hash);
  if (it == entries_.end() || it->second.dropped) return BlockState::kAbsent;
  return it->second.ready ? BlockState::kReady : BlockState::kStoring;
}

int32_t CpuOffloadConnector::pins(uint64_t hash) const {
  auto it = entries_.find(hash);
  return it == entries_.end() ? 0 : it->second.loads;
}

std::optional<int32_t> CpuOffloadConnector::host_slot(uint64_t hash) const {
  auto it = entries_.find(hash);
  if (it == entries_.end()) return std::nullopt;
  return it->second.slot * k_;
}

}  // namespace kvtier::kv
