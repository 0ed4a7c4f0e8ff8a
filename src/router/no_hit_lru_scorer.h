#pragma once
// no-hit-lru-scorer (llm-d-inference-scheduler): spreads cold requests, those no endpoint has any
// prefix of, over the endpoints, so their new KV blocks grow every cache evenly. A request is
// cold when the prefix scorer named by prefixPluginName scored 0 on every candidate. Cold:
// endpoints that never took a cold request score highest (1, then down in candidate order),
// then the others by how long ago they took one, least recent first: rank r of n scores
// max(0, 1 - r / (n - 1)). Not cold: 0.5 everywhere, no preference.
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "router/scorer.h"

namespace kvtier::router {

class NoHitLruScorer : public Scorer {
 public:
  static constexpr size_t kDefaultLruSize = 1024;

  // `prefix` is the prefix scorer's plugin (run again when the profile had not run it before
  // this scorer); `prefix_name` is its plugin name in the config.
  NoHitLruScorer(std::string prefix_name, std::shared_ptr<Scorer> prefix, size_t lru_size);

  std::string_view type() const override { return "no-hit-lru-scorer"; }
  std::vector<double> score(const SchedulingRequest& request,
                            std::span<const EndpointView> candidates) override;
  std::vector<double> score_in_cycle(const SchedulingRequest& request,
                                     std::span<const EndpointView> candidates,
                                     const CycleState& cycle) override;
  void on_routed(const SchedulingRequest& request, const EndpointView& chosen) override;
  void on_finished(const SchedulingRequest& request, const EndpointView* chosen) override;

  const std::string& prefix_plugin_name() const { return prefix_name_; }
  size_t lru_size() const { return lru_size_; }
  // Endpoint indices that took cold requests, least recent first.
  std::vector<size_t> lru_order() const;

 private:
  std::string prefix_name_;
  std::shared_ptr<Scorer> prefix_;
  size_t lru_size_;
  mutable std::mutex mu_;  // guards lru_ and cold_; connections on any I/O thread
  std::list<size_t> lru_;  // endpoint indices, least recently used first
  // Requests scored cold and not yet routed, by SchedulingRequest::id() (llm-d keeps the same
  // per-request state between Score and PreRequest).
  std::unordered_map<uint64_t, bool> cold_;
};

}  // namespace kvtier::router
