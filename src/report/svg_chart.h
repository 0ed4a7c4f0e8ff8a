#pragma once
// A line chart of one metric against the benchmark level, baseline and candidate, as inline SVG
// (no scripts, no external files).
#include <string>

#include "report/comparison.h"

namespace kvtier::report {

std::string render_svg_chart(const MetricTable& table, const std::string& baseline_name,
                             const std::string& candidate_name, const std::string& level_name);

// Text safe inside XML/HTML elements and attributes.
std::string escape_xml(const std::string& text);

}  // namespace kvtier::report
