// The open-loop timetables. Poisson (issue #23 item 6): a fixed --random-seed reproduces the
// schedule, the empirical rate over many arrivals agrees with --rate, and the gaps look
// exponential; every bound is derived from the number of arrivals, not tuned to a seed.
// Constant with --rampup: GuideLLM's linear rate ramp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "bench/bench_config.h"
#include "bench/profile.h"
#include "bench/strategy.h"

namespace kvtier::bench {
namespace {

std::vector<double> poisson_offsets(double rate, uint64_t seed, size_t n) {
  Strategy s;
  s.type = StrategyType::kPoisson;
  s.rate = rate;
  s.seed = seed;
  ArrivalSchedule schedule(s);
  std::vector<double> at(n);
  for (auto& t : at) t = schedule.next();
  return at;
}

TEST(ArrivalSchedule, PoissonIsReproducibleForASeed) {
  const auto a = poisson_offsets(7.5, 889, 1000);
  const auto b = poisson_offsets(7.5, 889, 1000);
  EXPECT_EQ(a, b);  // bit for bit: the generator is platform independent (random.h)
  const auto c = poisson_offsets(7.5, 890, 1000);
  EXPECT_NE(a, c);
  EXPECT_EQ(a[0], 0.0);  // the first request goes at the benchmark's start
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
}

TEST(ArrivalSchedule, PoissonRateAndGapsMatchTheExponential) {
  constexpr size_t kGaps = 20000;
  for (const double rate : {0.5, 4.0, 250.0}) {
    for (const uint64_t seed : {42u, 889u, 2026u}) {
      SCOPED_TRACE(testing::Message() << "rate " << rate << " seed " << seed);
      const auto at = poisson_offsets(rate, seed, kGaps + 1);
      std::vector<double> gaps(kGaps);
      for (size_t i = 0; i < kGaps; ++i) gaps[i] = at[i + 1] - at[i];
      const double n = static_cast<double>(kGaps);

      // The time of the n-th arrival is a sum of n exponential gaps: Gamma(n, rate), mean n/rate
      // and standard deviation sqrt(n)/rate. 5 SE: a false alarm about once in 1.7 million.
      const double span = at.back();
      EXPECT_NEAR(span, n / rate, 5.0 * std::sqrt(n) / rate);
      // The same as a rate: n / span is within 5 SE (relative SE 1/sqrt(n)) of --rate.
      EXPECT_NEAR(n / span, rate, 5.0 * rate / std::sqrt(n));

      // Exponential gaps have a coefficient of variation of 1. For an exponential sample (unit
      // rate: sigma = 1, third central moment mu3 = 2, fourth mu4 = 9) the delta method on
      // CV^2 = s^2 / mean^2 gives Var(CV^2) = (mu4 - sigma^4 + 4 sigma^2 - 4 mu3) / n = 4 / n,
      // so SE(CV) = SE(CV^2) / 2 = 1 / sqrt(n).
      double mean = 0;
      for (double g : gaps) mean += g;
      mean /= n;
      double var = 0;
      for (double g : gaps) var += (g - mean) * (g - mean);
      var /= n - 1;
      const double cv = std::sqrt(var) / mean;
      EXPECT_NEAR(cv, 1.0, 5.0 / std::sqrt(n));

      // The shape, not only two moments: P(gap < 1/rate) = 1 - 1/e for an exponential, and the
      // count below it is binomial, SE sqrt(p (1 - p) / n). The same at the median, ln 2 / rate.
      const double p_mean = 1.0 - std::exp(-1.0);
      const double below_mean =
          std::count_if(gaps.begin(), gaps.end(), [&](double g) { return g < 1.0 / rate; }) / n;
      EXPECT_NEAR(below_mean, p_mean, 5.0 * std::sqrt(p_mean * (1 - p_mean) / n));
      const double below_median =
          std::count_if(gaps.begin(), gaps.end(),
                        [&](double g) { return g < std::log(2.0) / rate; }) /
          n;
      EXPECT_NEAR(below_median, 0.5, 5.0 * std::sqrt(0.25 / n));
      // No two arrivals at once and none out of order.
      EXPECT_GT(*std::min_element(gaps.begin(), gaps.end()), 0.0);
    }
  }
}

TEST(ArrivalSchedule, ConstantIsEvenlySpacedWithoutARamp) {
  Strategy s;
  s.type = StrategyType::kConstant;
  s.rate = 4;
  ArrivalSchedule schedule(s);
  for (int i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(schedule.next(), i * 0.25);
}

// GuideLLM's AsyncConstantStrategy with rampup_duration R: the rate grows linearly from 0 to
// `rate` over R, so n(t) = rate t^2 / (2R) requests have started by t < R; then every 1/rate.
TEST(ArrivalSchedule, ConstantRampRaisesTheRateLinearly) {
  Strategy s;
  s.type = StrategyType::kConstant;
  s.rate = 10;
  s.rampup = 2;  // 10 requests during the ramp
  ArrivalSchedule schedule(s);
  std::vector<double> at(30);
  for (auto& t : at) t = schedule.next();
  EXPECT_DOUBLE_EQ(at[0], 0.0);
  for (int n = 1; n <= 10; ++n) EXPECT_NEAR(at[n], std::sqrt(2.0 * n * 2.0 / 10.0), 1e-12);
  EXPECT_NEAR(at[10], 2.0, 1e-12);  // the ramp ends on time
  for (int n = 11; n < 30; ++n) EXPECT_NEAR(at[n] - at[n - 1], 0.1, 1e-12);
  // Gaps shrink during the ramp: the rate only grows.
  for (int n = 2; n <= 10; ++n) EXPECT_LT(at[n] - at[n - 1], at[n - 1] - at[n - 2]);
}

TEST(ArrivalSchedule, ClosedLoopSlotsSpreadOverTheRamp) {
  Strategy s;
  s.type = StrategyType::kConcurrent;
  s.streams = 4;
  EXPECT_EQ(s.initial_offset(3, 4), 0.0);  // no ramp: all at once
  s.rampup = 2;
  EXPECT_DOUBLE_EQ(s.initial_offset(0, 4), 0.0);
  EXPECT_DOUBLE_EQ(s.initial_offset(1, 4), 0.5);
  EXPECT_DOUBLE_EQ(s.initial_offset(3, 4), 1.5);
}

TEST(Profile, ThroughputUsesItsRateAsTheCapAndTakesTheRamp) {
  BenchConfig c;
  c.profile = ProfileKind::kThroughput;
  c.rates = {24};
  c.max_concurrency = 24;
  c.rampup = 3;
  Profile profile(c);
  auto first = profile.next({});
  ASSERT_TRUE(first.has_value() && first->has_value());
  const Strategy& s = **first;
  EXPECT_EQ(s.type, StrategyType::kThroughput);
  EXPECT_EQ(s.in_flight_limit(), 24);
  EXPECT_EQ(s.rampup, 3.0);
  EXPECT_EQ(s.to_json()["max_concurrency"], 24);
  EXPECT_EQ(s.to_json()["rampup_duration"], 3.0);
  auto second = profile.next({1.0});
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->has_value());
  EXPECT_EQ(profile.planned(), 1u);

  // A sweep ramps only its throughput benchmark, as GuideLLM's SweepProfile does.
  c.profile = ProfileKind::kSweep;
  c.rates = {4};
  c.max_concurrency.reset();
  Profile sweep(c);
  EXPECT_EQ((**sweep.next({})).rampup, 0.0);
  EXPECT_EQ((**sweep.next({1.0})).rampup, 3.0);
  EXPECT_EQ((**sweep.next({1.0, 5.0})).rampup, 0.0);
}

}  // namespace
}  // namespace kvtier::bench
