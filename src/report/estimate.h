#pragma once
// Mean +- standard error over repeats, the relative change between two such estimates, and the
// rule that says whether a change is an effect or noise (docs/report.md, "The verdict rule").
#include <vector>

#include "report/bench_results.h"

namespace kvtier::report {

struct Estimate {
  double mean = kMissing;
  double se = kMissing;  // sd / sqrt(n); kMissing when n < 2 (no noise estimate)
  int n = 0;             // repeats that had a value
  bool has_value() const;
  bool has_bound() const;  // n >= 2
};

// Non-finite values (a metric a file lacks) are skipped.
Estimate estimate(const std::vector<double>& values);

// Relative change of the candidate's mean against the baseline's, in percent:
// percent = 100 (c - b) / b, se = 100 sqrt(se_b^2 + se_c^2) / |b|: the SE of the difference of
// the means (independent repeats), on the same scale (docs/report.md). percent is kMissing when
// the baseline mean is 0.
struct Change {
  double percent = kMissing;
  double se = kMissing;  // kMissing when either side has fewer than two repeats
  bool has_value() const;
  bool has_bound() const;
};
Change relative_change(const Estimate& base, const Estimate& cand);

enum class Effect {
  kUnknown,      // no value on one side, or a baseline of 0
  kNoBound,      // a single run on either side: no noise estimate, never coloured
  kWithinNoise,  // |change| <= 2 SE, or below the resolution: never coloured
  kGain,         // beyond 2 SE in the metric's good direction
  kLoss,         // beyond 2 SE in its bad direction
};
inline constexpr double kNoiseStandardErrors = 2.0;
// A change that shows as 0.0% is no effect, however small its SE: repeats of a quantised metric
// (requests finished in a fixed window) can agree exactly, giving an SE of 0.
inline constexpr double kResolutionPercent = 0.05;
Effect classify(const Change& c, bool higher_is_better);

// Average of per-level means (the seed's "Avg" columns); SEs combine as sqrt(sum se^2) / L.
Estimate average(const std::vector<Estimate>& levels);

}  // namespace kvtier::report
