#pragma once
// A seeded generator whose sequences are the same on every platform (the standard library's
// distributions are not), so --random-seed reproduces prompts, lengths and arrival times.
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>

namespace kvtier::bench {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  // In [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // In [lo, hi], unbiased.
  int64_t uniform_int(int64_t lo, int64_t hi);
  double gaussian(double mean, double stdev);
  double exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }

 private:
  std::mt19937_64 engine_;
  std::optional<double> spare_;
};

// GuideLLM's IntegerRangeSampler: fixed when there is no spread, uniform in [min, max] without
// a stdev, else a normal clamped to [min, max] (defaults: average -/+ 5 stdev, at least 1).
class IntegerRangeSampler {
 public:
  IntegerRangeSampler(int64_t average, std::optional<int64_t> stdev, std::optional<int64_t> min,
                      std::optional<int64_t> max, uint64_t seed);
  int64_t next();

 private:
  int64_t average_;
  std::optional<int64_t> stdev_;
  int64_t min_, max_;
  Random rng_;
};

}  // namespace kvtier::bench
