#include "router/prefix_cache_scorer.h"

#include <fmt/format.h>

namespace kvtier::router {

PrefixCacheScorer::PrefixCacheScorer(PrefixCacheScorerOptions options, size_t num_endpoints)
    : options_(options), lrus_(num_endpoints, BlockLru(options.lru_capacity_per_server)) {}

std::vector<double> PrefixCacheScorer::score(const SchedulingRequest& request,
                                             std::span<const EndpointView> candidates) {
  std::vector<double> scores(candidates.size(), 0.0);
  const auto keys = request.block_keys(options_.block_size, options_.max_prefix_blocks);
  if (keys.empty()) return scores;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].index >= lrus_.size()) continue;
    scores[i] = double(lrus_[candidates[i].index].leading_matches(keys)) / double(keys.size());
  }
  return scores;
}

void PrefixCacheScorer::on_routed(const SchedulingRequest& request, const EndpointView& chosen) {
  const auto keys = request.block_keys(options_.block_size, options_.max_prefix_blocks);
  if (keys.empty() || chosen.index >= lrus_.size()) return;
  std::lock_guard lock(mu_);
  lrus_[chosen.index].add(keys);
}

void PrefixCacheScorer::on_endpoint_down(size_t endpoint_index) {
  std::lock_guard lock(mu_);
  if (endpoint_index < lrus_.size()) lrus_[endpoint_index].clear();
}

void PrefixCacheScorer::append_metrics(std::string& out, std::string_view scorer,
                                       std::span<const std::string> endpoint_ids) const {
  std::lock_guard lock(mu_);
  out += "# HELP kvtier_router_prefix_tracked_blocks Block keys the approximate prefix scorer "
         "remembers per endpoint.\n# TYPE kvtier_router_prefix_tracked_blocks gauge\n";
  for (size_t i = 0; i < lrus_.size() && i < endpoint_ids.size(); ++i) {
    fmt::format_to(std::back_inserter(out),
                   "kvtier_router_prefix_tracked_blocks{{scorer=\"{}\",endpoint=\"{}\"}} {}\n",
                   scorer, endpoint_ids[i], lrus_[i].size());
  }
}

size_t PrefixCacheScorer::tracked_blocks(size_t endpoint_index) const {
  std::lock_guard lock(mu_);
  return endpoint_index < lrus_.size() ? lrus_[endpoint_index].size() : 0;
}

}  // namespace kvtier::router
