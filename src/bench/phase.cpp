#include "bench/phase.h"

#include "bench/cli_values.h"

namespace kvtier::bench {

std::pair<std::optional<double>, std::optional<int64_t>> PhaseSpec::limits(
    std::optional<int64_t> max_requests, std::optional<double> max_seconds) const {
  std::optional<double> duration;
  std::optional<int64_t> requests;
  if (mode != Mode::kRequests && max_seconds) {
    if (percent)
      duration = *percent * *max_seconds;
    else if (value)
      duration = *value;
  }
  if (mode != Mode::kDuration && max_requests) {
    if (percent)
      requests = static_cast<int64_t>(*percent * static_cast<double>(*max_requests));
    else if (value)
      requests = static_cast<int64_t>(*value);
  }
  if (mode == Mode::kPreferDuration && duration) requests.reset();
  if (mode == Mode::kPreferRequests && requests) duration.reset();
  return {duration, requests};
}

nlohmann::json PhaseSpec::to_json() const {
  static constexpr const char* kModes[] = {"duration", "requests", "prefer_duration",
                                           "prefer_requests", "both"};
  return {{"percent", percent ? nlohmann::json(*percent) : nullptr},
          {"value", value ? nlohmann::json(*value) : nullptr},
          {"mode", kModes[static_cast<int>(mode)]}};
}

Expected<PhaseSpec> parse_phase(std::string_view flag, std::string_view text) {
  KVTIER_ASSIGN_OR_RETURN(auto j, parse_scalar_or_object(flag, text));
  PhaseSpec spec;
  if (j.is_null()) return spec;
  if (j.is_number()) {
    const double v = j.get<double>();
    if (v < 0) return invalid_argument("{} {}: must not be negative", flag, text);
    if (v < 1.0)
      spec.percent = v;
    else
      spec.value = v;
    return spec;
  }
  KVTIER_RETURN_IF_ERROR(check_keys(flag, j, {"percent", "value", "mode"}));
  KVTIER_RETURN_IF_ERROR(read_number_field(flag, j, "percent", 0.0, spec.percent));
  KVTIER_RETURN_IF_ERROR(read_number_field(flag, j, "value", 0.0, spec.value));
  if (spec.percent && *spec.percent >= 1.0) {
    return invalid_argument("{}: percent must be below 1, got {}", flag, *spec.percent);
  }
  if (auto m = j.find("mode"); m != j.end()) {
    const std::string mode = m->is_string() ? m->get<std::string>() : m->dump();
    if (mode == "duration")
      spec.mode = PhaseSpec::Mode::kDuration;
    else if (mode == "requests")
      spec.mode = PhaseSpec::Mode::kRequests;
    else if (mode == "prefer_duration")
      spec.mode = PhaseSpec::Mode::kPreferDuration;
    else if (mode == "prefer_requests")
      spec.mode = PhaseSpec::Mode::kPreferRequests;
    else if (mode == "both")
      spec.mode = PhaseSpec::Mode::kBoth;
    else {
      return invalid_argument(
          "{}: mode '{}' is not one of duration, requests, prefer_duration, prefer_requests, "
          "both",
          flag, mode);
    }
  }
  return spec;
}

}  // namespace kvtier::bench
