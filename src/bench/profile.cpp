#include "bench/profile.h"

namespace kvtier::bench {

Profile::Profile(const BenchConfig& config)
    : kind_(config.profile),
      rates_(config.rates),
      max_concurrency_(config.max_concurrency),
      seed_(config.random_seed),
      rampup_(config.rampup) {
  if (kind_ == ProfileKind::kSweep && !rates_.empty()) {
    sweep_size_ = static_cast<size_t>(rates_[0]);
  }
}

// `ramp`: whether this benchmark takes --rampup. GuideLLM gives rampup_duration to concurrent,
// throughput and constant strategies; a sweep only to its throughput benchmark.
Strategy Profile::make(StrategyType type, double rate, bool ramp) const {
  Strategy s;
  s.type = type;
  s.seed = static_cast<uint64_t>(seed_);
  if (ramp) s.rampup = rampup_;
  if (type == StrategyType::kConcurrent) s.streams = static_cast<int64_t>(rate);
  if (type == StrategyType::kConstant || type == StrategyType::kPoisson) s.rate = rate;
  if (type != StrategyType::kConcurrent && type != StrategyType::kSynchronous) {
    s.max_concurrency = max_concurrency_;
  }
  return s;
}

size_t Profile::planned() const {
  switch (kind_) {
    case ProfileKind::kSynchronous:
    case ProfileKind::kThroughput:
      return 1;
    case ProfileKind::kSweep:
      return sweep_size_;
    default:
      return rates_.size();
  }
}

Expected<std::optional<Strategy>> Profile::next(const std::vector<double>& measured) const {
  const size_t index = measured.size();
  auto from_list = [&](StrategyType type) -> std::optional<Strategy> {
    if (index >= rates_.size()) return std::nullopt;
    return make(type, rates_[index], true);
  };
  switch (kind_) {
    case ProfileKind::kSynchronous:
      return index == 0 ? std::optional(make(StrategyType::kSynchronous, 0, false)) : std::nullopt;
    case ProfileKind::kThroughput:
      return index == 0 ? std::optional(make(StrategyType::kThroughput, 0, true)) : std::nullopt;
    case ProfileKind::kConcurrent:
      return from_list(StrategyType::kConcurrent);
    case ProfileKind::kConstant:
      return from_list(StrategyType::kConstant);
    case ProfileKind::kPoisson:
      return from_list(StrategyType::kPoisson);  // --rampup is refused for poisson
    case ProfileKind::kSweep:
      break;
  }
  if (index == 0) return std::optional(make(StrategyType::kSynchronous, 0, false));
  if (index == 1) return std::optional(make(StrategyType::kThroughput, 0, true));
  if (index >= sweep_size_) return std::optional<Strategy>();
  const double slow = measured[0];
  const double fast = measured[1];
  if (slow <= 0 && fast <= 0) {
    return make_error(ErrorCode::kUnavailable,
                      "sweep: the synchronous and throughput benchmarks completed no request, so "
                      "there is no rate range to sweep");
  }
  // np.linspace(slow, fast, sweep_size - 1)[1:], the i-th of those.
  const size_t points = sweep_size_ - 1;
  const size_t i = index - 1;
  const double rate = slow + (fast - slow) * static_cast<double>(i) / (points - 1);
  if (rate <= 0) return std::optional<Strategy>();
  return std::optional(make(StrategyType::kConstant, rate, false));
}

nlohmann::json Profile::to_json(const std::vector<Strategy>& completed) const {
  nlohmann::json strategies = nlohmann::json::array();
  for (const auto& s : completed) strategies.push_back(s.to_json());
  nlohmann::json j = {{"type_", profile_kind_name(kind_)}, {"completed_strategies", strategies}};
  if (kind_ == ProfileKind::kSweep) {
    j["sweep_size"] = sweep_size_;
    j["strategy_type"] = "constant";
  } else if (kind_ == ProfileKind::kConcurrent) {
    j["streams"] = rates_;
  } else if (kind_ != ProfileKind::kThroughput && !rates_.empty()) {
    j["rate"] = rates_;
  }
  if (max_concurrency_) j["max_concurrency"] = *max_concurrency_;
  j["rampup_duration"] = rampup_;
  return j;
}

}  // namespace kvtier::bench
