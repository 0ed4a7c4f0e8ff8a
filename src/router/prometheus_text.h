#pragma once
// Prometheus text exposition format (version 0.0.4), the reading side: what an endpoint's
// /metrics returns. Comments (# HELP, # TYPE) are skipped; each sample line gives its name,
// labels (escapes \\ \" \n undone) and value (NaN and +/-Inf included); timestamps are ignored.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kvtier::router {

struct PrometheusSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;

  const std::string* label(std::string_view key) const;
};

// Calls `visit` for each sample in order. A malformed line stops parsing with an error naming
// the line number and what is wrong.
Status for_each_prometheus_sample(std::string_view text,
                                  const std::function<void(const PrometheusSample&)>& visit);

Expected<std::vector<PrometheusSample>> parse_prometheus_text(std::string_view text);

}  // namespace kvtier::router
