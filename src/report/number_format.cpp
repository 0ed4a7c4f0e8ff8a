#include "report/number_format.h"

#include <fmt/format.h>

#include <cmath>

namespace kvtier::report {
namespace {

// Rounds to `decimals` and drops the sign of a value that rounds to zero.
double rounded(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  double r = std::round(v * scale) / scale;
  return r == 0.0 ? 0.0 : r;
}

}  // namespace

std::string format_value(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  const std::string digits = fmt::format("{:.{}f}", rounded(std::fabs(v), decimals), decimals);
  const size_t dot = digits.find('.');
  const size_t whole = dot == std::string::npos ? digits.size() : dot;
  std::string s = rounded(v, decimals) < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && i < whole && (whole - i) % 3 == 0) s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

std::string format_difference(double v, int decimals) {
  const double r = rounded(v, decimals);
  if (r == 0.0) return format_value(0.0, decimals);
  std::string s = format_value(r, decimals);
  if (r > 0) s.insert(s.begin(), '+');
  return s;
}

std::string format_percent(std::optional<double> pct) {
  if (!pct || !std::isfinite(*pct)) return "n/a";
  return format_difference(*pct, 1) + "%";
}

}  // namespace kvtier::report

#include "report/estimate.h"

namespace kvtier::report {

std::string format_estimate(const Estimate& e, int decimals) {
  if (!e.has_value()) return "n/a";
  std::string s = format_value(e.mean, decimals);
  if (e.has_bound()) s += " ± " + format_value(e.se, decimals);
  return s;
}

}  // namespace kvtier::report
