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
  std::string s = fmt::format("{:.{}f}", rounded(std::fabs(v), decimals), decimals);
  const size_t dot = s.find('.');
  for (int i = static_cast<int>(dot == std::string::npos ? s.size() : dot) - 3; i > 0; i -= 3) {
    s.insert(static_cast<size_t>(i), ",");
  }
  return (rounded(v, decimals) < 0 ? "-" : "") + s;
}

std::string format_difference(double v, int decimals) {
  const double r = rounded(v, decimals);
  if (r == 0.0) return format_value(0.0, decimals);
  return (r > 0 ? "+" : "") + format_value(r, decimals);
}

std::string format_percent(std::optional<double> pct) {
  if (!pct || !std::isfinite(*pct)) return "n/a";
  return format_difference(*pct, 1) + "%";
}

}  // namespace kvtier::report
