#pragma once
// GuideLLM's scheduling strategies: how many requests are in flight and when each starts.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "bench/random.h"

namespace kvtier::bench {

enum class StrategyType { kSynchronous, kConcurrent, kThroughput, kConstant, kPoisson };
std::string_view strategy_type_name(StrategyType type);

// Throughput without --max-concurrency keeps this many requests in flight (GuideLLM's default
// max_concurrency setting).
constexpr int64_t kDefaultThroughputConcurrency = 512;

struct Strategy {
  StrategyType type = StrategyType::kSynchronous;
  int64_t streams = 1;                     // concurrent
  double rate = 0;                         // constant, poisson: requests per second
  std::optional<int64_t> max_concurrency;  // throughput, constant, poisson
  uint64_t seed = 42;                      // poisson arrivals
  // GuideLLM's rampup_duration (seconds): closed loops (concurrent, throughput) start their
  // slots spread evenly over it; constant raises its rate linearly from 0 over it.
  double rampup = 0;

  // Closed loop (synchronous, concurrent, throughput): a finished request starts the next one.
  // Open loop (constant, poisson): requests start on a timetable.
  bool open_loop() const;
  // At most this many requests in flight (open loop without a cap: no bound).
  std::optional<int64_t> in_flight_limit() const;
  // "concurrent@5", "constant@2.50 req/s", "synchronous", ...
  std::string label() const;
  // The level a report compares benchmarks at: streams, rate, or 1 / the concurrency limit.
  double level() const;
  nlohmann::json to_json() const;
  // Closed loop: when (seconds from the benchmark start) the slot-th of `slots` initial
  // requests starts: slot * rampup / slots, so the load reaches `slots` after the ramp.
  double initial_offset(int64_t slot, int64_t slots) const;
};

// Start offsets (seconds from the benchmark start) of an open-loop strategy's requests:
// constant every 1/rate (with a ramp, request i >= 1 of the first rate*rampup/2 at
// sqrt(2 i rampup / rate), so the rate grows linearly to `rate`: GuideLLM's formula), poisson
// with exponential gaps drawn from the seed.
class ArrivalSchedule {
 public:
  explicit ArrivalSchedule(const Strategy& strategy)
      : poisson_(strategy.type == StrategyType::kPoisson),
        rate_(strategy.rate),
        rampup_(strategy.rampup),
        rng_(strategy.seed) {}
  double next();

 private:
  bool poisson_;
  double rate_;
  double rampup_;
  Random rng_;
  int64_t count_ = 0;
  double offset_ = 0;
};

}  // namespace kvtier::bench
