#pragma once
// The verdict, in words and numbers, per model and workload: for each arm, at which levels it
// pays, costs or makes no measurable difference against the baseline (docs/report.md).
#include <string>
#include <vector>

#include "report/report_model.h"

namespace kvtier::report {

// Run-to-run differences a single run cannot rule out (two same-configuration runs on a busy
// machine differed by 16.7% in output tok/s); said whenever there is no noise estimate.
inline constexpr double kSingleRunNoisePercent = 10.0;

// Needs the group's statistics and comparisons (build_report fills them first).
std::vector<VerdictLine> verdict_lines(const Group& g);

// "+18.3% ± 2.1%", or "+18.3%" without a bound.
std::string format_change(const Change& c);

// "concurrency", "rate", "level".
std::string verdict_level_word(const std::string& level_name);

}  // namespace kvtier::report
