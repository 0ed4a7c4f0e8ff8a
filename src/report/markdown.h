#pragma once
// The report as Markdown: warnings, the verdict, the seed report's summary and per-level tables
// (mean ± SE over repeats), the tier counters, swept flags and the Test Configuration.
#include <string>

#include "report/report_model.h"

namespace kvtier::report {

std::string render_markdown(const Report& r);

// " (gain)", " (loss)", " (within noise)" or "" (single run, unknown): a change in words.
const char* effect_words(Effect e);

}  // namespace kvtier::report
