#include "bench/strategy.h"

#include <fmt/format.h>

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
      break;
    case StrategyType::kThroughput:
      j["max_concurrency"] = *in_flight_limit();
      break;
    case StrategyType::kConstant:
      j["rate"] = rate;
      j["max_concurrency"] = max_concurrency ? nlohmann::json(*max_concurrency) : nullptr;
      break;
    case StrategyType::kPoisson:
      j["rate"] = rate;
      j["max_concurrency"] = max_concurrency ? nlohmann::json(*max_concurrency) : nullptr;
      j["random_seed"] = seed;
      break;
  }
  return j;
}

double ArrivalSchedule::next() {
  if (!poisson_) return static_cast<double>(count_++) / rate_;
  const double at = offset_;
  offset_ += rng_.exponential(rate_);
  ++count_;
  return at;
}

}  // namespace kvtier::bench
