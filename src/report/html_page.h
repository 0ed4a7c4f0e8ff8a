#pragma once
// The report as one self-contained HTML page (inline CSS and SVG, no scripts, no external
// requests): warnings, the verdict, then per model and workload the summary, each metric's chart
// (mean ± SE) and %-change chart (± 2 SE, the noise band) above its table, the tier counters, the
// swept-flag charts, and the Test Configuration.
#include <string>

#include "report/report_model.h"

namespace kvtier::report {

std::string render_html(const Report& r);

}  // namespace kvtier::report
