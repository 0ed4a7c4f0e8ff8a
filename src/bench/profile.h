#pragma once
// GuideLLM's profiles: the sequence of benchmarks one `kvtier bench` runs. Sweep adapts: a
// synchronous and a throughput benchmark measure the slowest and fastest request rates, then
// constant rates evenly between them fill the rest (the last equals the throughput rate).
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "bench/bench_config.h"
#include "bench/strategy.h"

namespace kvtier::bench {

class Profile {
 public:
  explicit Profile(const BenchConfig& config);

  // The strategy of benchmark number `measured_rates.size()`, given the successful requests per
  // second each earlier benchmark achieved; nullopt when the profile is complete.
  Expected<std::optional<Strategy>> next(const std::vector<double>& measured_rates) const;
  // Benchmarks this profile runs (for progress display).
  size_t planned() const;
  nlohmann::json to_json(const std::vector<Strategy>& completed) const;

 private:
  Strategy make(StrategyType type, double rate, bool ramp) const;

  ProfileKind kind_;
  std::vector<double> rates_;
  std::optional<int64_t> max_concurrency_;
  int64_t seed_;
  double rampup_ = 0;
  size_t sweep_size_ = 10;
};

}  // namespace kvtier::bench
