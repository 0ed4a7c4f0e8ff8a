#pragma once
// --warmup / --cooldown: requests in these phases at a benchmark's start or end are left out of
// its statistics. A number below 1 is a fraction of the benchmark (its --max-seconds, else its
// --max-requests), 1 or more is seconds (or a request count when only --max-requests bounds it).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace kvtier::bench {

struct PhaseSpec {
  enum class Mode { kDuration, kRequests, kPreferDuration, kPreferRequests, kBoth };
  std::optional<double> percent;  // in [0, 1)
  std::optional<double> value;    // seconds or requests
  Mode mode = Mode::kPreferDuration;

  bool empty() const { return !percent && !value; }
  // The phase's length for a benchmark bounded by these constraints: (seconds, requests).
  std::pair<std::optional<double>, std::optional<int64_t>> limits(
      std::optional<int64_t> max_requests, std::optional<double> max_seconds) const;
  nlohmann::json to_json() const;
};

// "0.1", "5", or an object {"percent": .., "value": .., "mode": ..} as JSON or key=value.
Expected<PhaseSpec> parse_phase(std::string_view flag, std::string_view text);

}  // namespace kvtier::bench
