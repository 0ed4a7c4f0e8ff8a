#pragma once
// Turns gathered runs into statistics: per arm and level, mean +- SE over repeats; per
// non-baseline arm and level, the relative change against the baseline and its effect; the tier
// counters; the verdict. Refuses runs that must not be compared (profile, data, model).
#include "report/report_model.h"

namespace kvtier::report {

struct ReportOptions {
  // Compare runs whose profile, data or model differ; the report then opens with a warning.
  bool force = false;
};

// Fills every "Filled by build_report()" field of `report`. Without --force, a mismatch is an
// invalid_argument naming both runs and what differs.
Status build_report(Report& report, const ReportOptions& options);

}  // namespace kvtier::report
