#pragma once
// The comparison as Markdown: the seed report's summary and per-level tables.
#include <string>

#include "report/comparison.h"

namespace kvtier::report {

std::string render_markdown(const Comparison& c);

}  // namespace kvtier::report
