#pragma once
// For the offload benchmarks: wraps the second tier and adds up the wall time its caller (the
// engine thread) spends inside it: the tier's bookkeeping, and on CUDA the submission of its
// copies. That is the tier's whole cost on the critical path of a step, whatever its copies then
// cost in the background. Adds two clock reads per call (~50 ns), against ~0.5 us per offered
// block for the tier itself.
#include <chrono>
#include <memory>

#include "kv/connector.h"
#include "kv/offload/chain_connector.h"

namespace kvtier::bench {

class TimedConnector final : public kv::KvConnector, public kv::ChainConnector {
 public:
  // `inner` must also be a ChainConnector (the native offload tier is).
  static std::unique_ptr<TimedConnector> wrap(std::unique_ptr<kv::KvConnector> inner) {
    auto* chain = dynamic_cast<kv::ChainConnector*>(inner.get());
    if (chain == nullptr) return nullptr;
    return std::unique_ptr<TimedConnector>(new TimedConnector(std::move(inner), chain));
  }

  // Seconds spent in the tier since creation (or the last reset).
  double seconds() const { return std::chrono::duration<double>(spent_).count(); }
  void reset() { spent_ = {}; }

  int32_t lookup(std::span<const uint64_t> hashes) override {
    Timer t(spent_);
    return inner_->lookup(hashes);
  }
  kv::TransferId start_load(std::span<const uint64_t> hashes,
                            std::span<const int32_t> dst) override {
    Timer t(spent_);
    return inner_->start_load(hashes, dst);
  }
  bool offer_store(uint64_t hash, int32_t device_block) override {
    Timer t(spent_);
    return inner_->offer_store(hash, device_block);
  }
  Completed poll() override {
    Timer t(spent_);
    return inner_->poll();
  }
  void drain() override { inner_->drain(); }  // waiting, not work: not counted
  kv::ConnectorStats stats() const override { return inner_->stats(); }
  bool store_prompt_only() const override { return inner_->store_prompt_only(); }

  int32_t blocks_per_group() const override { return chain_->blocks_per_group(); }
  int32_t lookup_chain(std::span<const uint64_t> chain, int32_t first) override {
    Timer t(spent_);
    return chain_->lookup_chain(chain, first);
  }
  kv::TransferId start_load_chain(std::span<const uint64_t> chain, int32_t first,
                                  std::span<const int32_t> dst) override {
    Timer t(spent_);
    return chain_->start_load_chain(chain, first, dst);
  }
  bool offer_chain(std::span<const uint64_t> chain, std::span<const int32_t> table,
                   int32_t index) override {
    Timer t(spent_);
    return chain_->offer_chain(chain, table, index);
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Timer {
    explicit Timer(Clock::duration& total) : total(total), start(Clock::now()) {}
    ~Timer() { total += Clock::now() - start; }
    Clock::duration& total;
    Clock::time_point start;
  };

  TimedConnector(std::unique_ptr<kv::KvConnector> inner, kv::ChainConnector* chain)
      : inner_(std::move(inner)), chain_(chain) {}

  std::unique_ptr<kv::KvConnector> inner_;
  kv::ChainConnector* chain_;
  Clock::duration spent_{};
};

}  // namespace kvtier::bench
