#pragma once
// The comparison as one self-contained HTML page: the summary, then each metric's chart (inline
// SVG) above its table.
#include <string>

#include "report/comparison.h"

namespace kvtier::report {

std::string render_html(const Comparison& c);

}  // namespace kvtier::report
