#include "report/estimate.h"

#include <algorithm>
#include <cmath>

namespace kvtier::report {

bool Estimate::has_value() const {
  return n > 0 && std::isfinite(mean);
}
bool Estimate::has_bound() const {
  return n >= 2 && std::isfinite(se);
}
bool Change::has_value() const {
  return std::isfinite(percent);
}
bool Change::has_bound() const {
  return has_value() && std::isfinite(se);
}

Estimate estimate(const std::vector<double>& values) {
  Estimate e;
  double sum = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++e.n;
  }
  if (e.n == 0) return e;
  e.mean = sum / e.n;
  if (e.n < 2) return e;
  double squares = 0;
  for (double v : values) {
    if (std::isfinite(v)) squares += (v - e.mean) * (v - e.mean);
  }
  e.se = std::sqrt(squares / (e.n - 1)) / std::sqrt(static_cast<double>(e.n));
  return e;
}

Change relative_change(const Estimate& base, const Estimate& cand) {
  Change c;
  if (!base.has_value() || !cand.has_value() || base.mean == 0) return c;
  const double r = cand.mean / base.mean;
  c.percent = 100.0 * (r - 1.0);
  if (!base.has_bound() || !cand.has_bound()) return c;
  // The SE of the difference of the means, as a percent of the baseline: |change| > 2 SE is then
  // the two-sample test on the difference. (The ratio's delta-method SE, r sqrt((se_b / b)^2 +
  // (se_c / c)^2), shrinks with r: a noisy baseline that the candidate undercuts would pass as a
  // gain.)
  c.se = 100.0 * std::sqrt(base.se * base.se + cand.se * cand.se) / std::fabs(base.mean);
  return c;
}

Effect classify(const Change& c, bool higher_is_better) {
  if (!c.has_value()) return Effect::kUnknown;
  if (!c.has_bound()) return Effect::kNoBound;
  if (std::fabs(c.percent) <= kNoiseStandardErrors * c.se ||
      std::fabs(c.percent) < kResolutionPercent) {
    return Effect::kWithinNoise;
  }
  return (c.percent > 0) == higher_is_better ? Effect::kGain : Effect::kLoss;
}

Estimate average(const std::vector<Estimate>& levels) {
  Estimate out;
  if (levels.empty()) return out;
  double sum = 0, var = 0;
  int min_n = levels.front().n;
  bool bound = true;
  for (const auto& e : levels) {
    if (!e.has_value()) return Estimate{};
    sum += e.mean;
    if (e.has_bound())
      var += e.se * e.se;
    else
      bound = false;
    min_n = std::min(min_n, e.n);
  }
  out.mean = sum / static_cast<double>(levels.size());
  out.n = min_n;
  if (bound) out.se = std::sqrt(var) / static_cast<double>(levels.size());
  return out;
}

}  // namespace kvtier::report
