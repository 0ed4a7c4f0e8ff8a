#pragma once
// Prometheus text exposition format (version 0.0.4), the reading side: what an endpoint's
// /metrics returns. Each sample line gives its name, labels (escapes \\ \" \n undone) and value
// (NaN and +/-Inf included); timestamps are ignored. `# TYPE` lines give the family's type to
// its samples (a histogram's _bucket/_sum/_count, a counter's _total); `# HELP` is skipped.
// The one reader of this format: the router's endpoint scraper and the monitor use it.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kvtier {

enum class PrometheusType { kUntyped, kCounter, kGauge, kHistogram, kSummary, kInfo, kStateset };

// "counter", "gauge", ... as written on a `# TYPE` line.
const char* prometheus_type_name(PrometheusType type);

struct PrometheusSample {
  std::string name;
  // From the `# TYPE` line of the sample's family (the name itself, or the name less a
  // _total/_bucket/_sum/_count/_created/_info suffix); kUntyped without one.
  PrometheusType type = PrometheusType::kUntyped;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;

  const std::string* label(std::string_view key) const;
};

// Calls `visit` for each sample in order. A malformed line stops parsing with an error naming
// the line number and what is wrong.
Status for_each_prometheus_sample(std::string_view text,
                                  const std::function<void(const PrometheusSample&)>& visit);

Expected<std::vector<PrometheusSample>> parse_prometheus_text(std::string_view text);

}  // namespace kvtier
