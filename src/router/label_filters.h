#pragma once
// llm-d's label filters: a profile keeps only the endpoints whose labels (given with --endpoint,
// router/endpoint.h) match.
//   by-label           one label, a set of valid values, optionally endpoints without the label
//   by-label-selector  a Kubernetes label selector (matchLabels, matchExpressions)
//   decode-filter      by-label on llm-d.ai/role: decode roles, or no role label at all
//   prefill-filter     by-label on llm-d.ai/role: prefill roles only
// Labels are fixed at start, so the filters hold them by endpoint index and need no lock.
#include <set>
#include <string>
#include <vector>

#include "router/scorer.h"

namespace kvtier::router {

inline constexpr std::string_view kRoleLabel = "llm-d.ai/role";

class ByLabelFilter : public Filter {
 public:
  ByLabelFilter(std::string type, std::string label, std::set<std::string> valid_values,
                bool allows_no_label, std::vector<EndpointLabels> labels);

  // llm-d's decode-filter and prefill-filter.
  static std::unique_ptr<ByLabelFilter> decode(std::vector<EndpointLabels> labels);
  static std::unique_ptr<ByLabelFilter> prefill(std::vector<EndpointLabels> labels);

  std::string_view type() const override { return type_; }
  std::vector<bool> keep(const SchedulingRequest& request,
                         std::span<const EndpointView> candidates) const override;

 private:
  std::string type_;
  std::string label_;
  std::set<std::string> valid_values_;
  bool allows_no_label_;
  std::vector<EndpointLabels> labels_;  // by endpoint index
};

struct LabelRequirement {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kIn;
  std::set<std::string> values;

  bool matches(const EndpointLabels& labels) const;
};

class LabelSelectorFilter : public Filter {
 public:
  // matchLabels entries are In requirements with one value; all requirements must hold (an
  // empty selector keeps every endpoint, as Kubernetes' does).
  LabelSelectorFilter(std::vector<LabelRequirement> requirements,
                      std::vector<EndpointLabels> labels);

  std::string_view type() const override { return "by-label-selector"; }
  std::vector<bool> keep(const SchedulingRequest& request,
                         std::span<const EndpointView> candidates) const override;

 private:
  std::vector<LabelRequirement> requirements_;
  std::vector<EndpointLabels> labels_;  // by endpoint index
};

}  // namespace kvtier::router
