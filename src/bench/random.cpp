#include "bench/random.h"

#include <algorithm>
#include <limits>

namespace kvtier::bench {

int64_t Random::uniform_int(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(engine_());
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % span;
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return lo + static_cast<int64_t>(x % span);
}

double Random::gaussian(double mean, double stdev) {
  if (spare_) {
    const double z = *spare_;
    spare_.reset();
    return mean + stdev * z;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  return mean + stdev * u * f;
}

IntegerRangeSampler::IntegerRangeSampler(int64_t average, std::optional<int64_t> stdev,
                                         std::optional<int64_t> min, std::optional<int64_t> max,
                                         uint64_t seed)
    : average_(average), stdev_(stdev), rng_(seed) {
  const int64_t spread = stdev.value_or(0);
  min_ = min ? *min : std::max<int64_t>(1, spread ? average - 5 * spread : average);
  max_ = max ? *max : (spread ? average + 5 * spread : average);
}

int64_t IntegerRangeSampler::next() {
  if (min_ == max_) return min_;
  if (!stdev_ || *stdev_ == 0) return rng_.uniform_int(min_, max_);
  const double x = rng_.gaussian(static_cast<double>(average_), static_cast<double>(*stdev_));
  return std::llround(std::clamp(x, static_cast<double>(min_), static_cast<double>(max_)));
}

}  // namespace kvtier::bench
