#pragma once
// Numbers as the seed report prints them: thousands separators, signed differences ("+70.1",
// "-0.8", "0.0") and signed percentages ("+67.8%", "-16.0%", "0.0%").
#include <optional>
#include <string>

namespace kvtier::report {

std::string format_value(double v, int decimals);  // 1921.34 -> "1,921.3"
std::string format_difference(double v, int decimals);
std::string format_percent(std::optional<double> pct);  // nullopt -> "n/a"

}  // namespace kvtier::report

namespace kvtier::report {
struct Estimate;
// "1,921.3 ± 12.4" over repeats, "1,921.3" for one run, "n/a" without a value.
std::string format_estimate(const Estimate& e, int decimals);
}  // namespace kvtier::report
