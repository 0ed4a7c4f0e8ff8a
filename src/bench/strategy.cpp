#include "bench/strategy.h"

#include <fmt/format.h>

#include <cmath>

namespace kvtier::bench {

std::string_view strategy_type_name(StrategyType type) {
  switch (type) {
    case StrategyType::kSynchronous:
      return "synchronous";
    case StrategyType::kConcurrent:
      return "concurrent";
    case StrategyType::kThroughput:
      return "throughput";
    case StrategyType::kConstant:
      return "constant";
    case StrategyType::kPoisson:
      return "poisson";
  }
  return "synchronous";
}

bool Strategy::open_loop() const {
  return type == StrategyType::kConstant || type == StrategyType::kPoisson;
}

std::optional<int64_t> Strategy::in_flight_limit() const {
  switch (type) {
    case StrategyType::kSynchronous:
      return 1;
    case StrategyType::kConcurrent:
      return streams;
    case StrategyType::kThroughput:
      return max_concurrency.value_or(kDefaultThroughputConcurrency);
    case StrategyType::kConstant:
    case StrategyType::kPoisson:
      return max_concurrency;
  }
  return 1;
}

std::string Strategy::label() const {
  switch (type) {
    case StrategyType::kConcurrent:
      return fmt::format("concurrent@{}", streams);
    case StrategyType::kConstant:
      return fmt::format("constant@{:.2f}", rate);
    case StrategyType::kPoisson:
      return fmt::format("poisson@{:.2f}", rate);
    default:
      return std::string(strategy_type_name(type));
  }
}

double Strategy::level() const {
  switch (type) {
    case StrategyType::kConcurrent:
      return static_cast<double>(streams);
    case StrategyType::kConstant:
    case StrategyType::kPoisson:
      return rate;
    default:
      return static_cast<double>(*in_flight_limit());
  }
}

nlohmann::json Strategy::to_json() const {
  nlohmann::json j = {{"type_", strategy_type_name(type)}};
  switch (type) {
    case StrategyType::kSynchronous:
      break;
    case StrategyType::kConcurrent:
      j["streams"] = streams;
      j["rampup_duration"] = rampup;
      break;
    case StrategyType::kThroughput:
      j["max_concurrency"] = *in_flight_limit();
      j["rampup_duration"] = rampup;
      break;
    case StrategyType::kConstant:
      j["rate"] = rate;
      j["max_concurrency"] = max_concurrency ? nlohmann::json(*max_concurrency) : nullptr;
      j["rampup_duration"] = rampup;
      break;
    case StrategyType::kPoisson:
      j["rate"] = rate;
      j["max_concurrency"] = max_concurrency ? nlohmann::json(*max_concurrency) : nullptr;
      j["random_seed"] = seed;
      break;
  }
  return j;
}

double Strategy::initial_offset(int64_t slot, int64_t slots) const {
  if (rampup <= 0 || slots <= 0) return 0.0;
  return rampup * static_cast<double>(slot) / static_cast<double>(slots);
}

double ArrivalSchedule::next() {
  if (!poisson_) {
    const int64_t i = count_++;
    if (rampup_ <= 0) return static_cast<double>(i) / rate_;
    // GuideLLM's AsyncConstantStrategy with rampup_duration R: by time t < R the rate is
    // rate * t / R, so n(t) = rate t^2 / (2R) requests have started; request n starts at
    // sqrt(2 n R / rate), and after the ramp they follow every 1/rate.
    const double ramp_requests = rate_ * rampup_ / 2.0;
    const auto n = static_cast<double>(i);
    if (n <= ramp_requests) return std::sqrt(2.0 * n * rampup_ / rate_);
    return rampup_ + (n - ramp_requests) / rate_;
  }
  const double at = offset_;
  offset_ += rng_.exponential(rate_);
  ++count_;
  return at;
}

}  // namespace kvtier::bench
