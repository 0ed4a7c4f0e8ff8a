#include "router/label_filters.h"

namespace kvtier::router {
namespace {

const EndpointLabels& labels_of(const std::vector<EndpointLabels>& labels, size_t index) {
  static const EndpointLabels kNone;
  return index < labels.size() ? labels[index] : kNone;
}

}  // namespace

ByLabelFilter::ByLabelFilter(std::string type, std::string label,
                             std::set<std::string> valid_values, bool allows_no_label,
                             std::vector<EndpointLabels> labels)
    : type_(std::move(type)),
      label_(std::move(label)),
      valid_values_(std::move(valid_values)),
      allows_no_label_(allows_no_label),
      labels_(std::move(labels)) {}

// llm-d's role values (llm-d-inference-scheduler pkg/plugins/filter/pd_role.go); "both" is the
// older spelling of "prefill-decode".
std::unique_ptr<ByLabelFilter> ByLabelFilter::decode(std::vector<EndpointLabels> labels) {
  return std::make_unique<ByLabelFilter>(
      "decode-filter", std::string(kRoleLabel),
      std::set<std::string>{"decode", "prefill-decode", "both", "encode-prefill-decode"},
      /*allows_no_label=*/true, std::move(labels));
}

std::unique_ptr<ByLabelFilter> ByLabelFilter::prefill(std::vector<EndpointLabels> labels) {
  return std::make_unique<ByLabelFilter>(
      "prefill-filter", std::string(kRoleLabel),
      std::set<std::string>{"prefill", "encode-prefill", "prefill-decode", "both",
                            "encode-prefill-decode"},
      /*allows_no_label=*/false, std::move(labels));
}

std::vector<bool> ByLabelFilter::keep(const SchedulingRequest&,
                                      std::span<const EndpointView> candidates) const {
  std::vector<bool> keep(candidates.size(), false);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const EndpointLabels& labels = labels_of(labels_, candidates[i].index);
    const auto it = labels.find(label_);
    // As llm-d: a missing label reads as "", so a valid "" admits endpoints without it too.
    const std::string value = it == labels.end() ? "" : it->second;
    keep[i] = valid_values_.count(value) || (it == labels.end() && allows_no_label_);
  }
  return keep;
}

bool LabelRequirement::matches(const EndpointLabels& labels) const {
  const auto it = labels.find(key);
  switch (op) {
    case Op::kIn: return it != labels.end() && values.count(it->second);
    case Op::kNotIn: return it == labels.end() || !values.count(it->second);
    case Op::kExists: return it != labels.end();
    case Op::kDoesNotExist: return it == labels.end();
  }
  return false;
}

LabelSelectorFilter::LabelSelectorFilter(std::vector<LabelRequirement> requirements,
                                         std::vector<EndpointLabels> labels)
    : requirements_(std::move(requirements)), labels_(std::move(labels)) {}

std::vector<bool> LabelSelectorFilter::keep(const SchedulingRequest&,
                                            std::span<const EndpointView> candidates) const {
  std::vector<bool> keep(candidates.size(), true);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const EndpointLabels& labels = labels_of(labels_, candidates[i].index);
    for (const auto& r : requirements_) {
      if (!r.matches(labels)) {
        keep[i] = false;
        break;
      }
    }
  }
  return keep;
}

}  // namespace kvtier::router
