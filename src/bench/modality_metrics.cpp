#include "bench/modality_metrics.h"

#include <functional>
#include <optional>

namespace kvtier::bench {
namespace {

using Json = nlohmann::json;
using Value = std::function<std::optional<double>(const RequestRecord&)>;

struct Side {
  std::array<WeightedValues, 3> values, events;
  std::array<std::vector<Interval>, 3> intervals;
  bool any = false;
};

StatusDistribution by_status(const std::array<WeightedValues, 3>& parts,
                             DistributionSummary (*f)(WeightedValues)) {
  WeightedValues total;
  for (const auto& p : parts) total.insert(total.end(), p.begin(), p.end());
  return {f(parts[0]), f(parts[1]), f(parts[2]), f(std::move(total))};
}

DistributionSummary values_summary(WeightedValues v) { return summarize_values(std::move(v)); }
DistributionSummary rates_summary(WeightedValues v) { return rate_distribution(std::move(v)); }

StatusDistribution concurrency_by_status(const std::array<std::vector<Interval>, 3>& parts) {
  std::vector<Interval> total;
  for (const auto& p : parts) total.insert(total.end(), p.begin(), p.end());
  return {concurrency_distribution(parts[0]), concurrency_distribution(parts[1]),
          concurrency_distribution(parts[2]), concurrency_distribution(std::move(total))};
}

// GuideLLM's GenerativeMetricsSummary.compile_timed_metrics for one property.
Json summary(const StatusSplit& split, const Value& input, const Value& output) {
  Side in, out;
  for (size_t s = 0; s < 3; ++s) {
    for (const RequestRecord* r : split[s]) {
      if (!r->request_start || !r->request_end) continue;
      const auto i = input(*r);
      const auto o = output(*r);
      if (!i && !o) continue;
      // A request with one side still adds 0 to the other side's rates and concurrency.
      auto add = [&](Side& side, std::optional<double> v) {
        if (v) {
          side.values[s].emplace_back(*v, 1.0);
          side.any = true;
        }
        side.events[s].emplace_back(*r->request_end, v.value_or(0.0));
        side.intervals[s].push_back({*r->request_start, *r->request_end, v.value_or(0.0)});
      };
      add(in, i);
      add(out, o);
    }
  }
  auto side_json = [&](const Side& side, const char* name, Json& j) {
    const std::string n(name);
    if (!side.any) {
      j[n] = nullptr;
      j[n + "_per_second"] = nullptr;
      j[n + "_concurrency"] = nullptr;
      return;
    }
    j[n] = to_json(by_status(side.values, values_summary));
    j[n + "_per_second"] = to_json(by_status(side.events, rates_summary));
    j[n + "_concurrency"] = to_json(concurrency_by_status(side.intervals));
  };
  Json j = Json::object();
  side_json(in, "input", j);
  side_json(out, "output", j);
  Side total;
  total.any = in.any && out.any;  // GuideLLM: a total only when both sides have data
  for (size_t s = 0; s < 3; ++s) {
    for (const Side* side : {&in, &out}) {
      total.values[s].insert(total.values[s].end(), side->values[s].begin(), side->values[s].end());
      total.events[s].insert(total.events[s].end(), side->events[s].begin(), side->events[s].end());
      total.intervals[s].insert(total.intervals[s].end(), side->intervals[s].begin(),
                                side->intervals[s].end());
    }
  }
  side_json(total, "total", j);
  return j;
}

std::optional<double> as_double(const std::optional<int64_t>& v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

Json null_properties(std::initializer_list<const char*> names) {
  Json j = Json::object();
  for (const char* n : names) j[n] = nullptr;
  return j;
}

}  // namespace

Json modality_metrics_json(const StatusSplit& split) {
  const Value none = [](const RequestRecord&) { return std::optional<double>(); };
  Json text = {
      {"tokens", summary(
                     split, [](const RequestRecord& r) { return as_double(r.prompt_tokens); },
                     [](const RequestRecord& r) { return as_double(r.output_tokens); })},
      {"words",
       summary(split, none, [](const RequestRecord& r) { return as_double(r.output_words); })},
      {"characters", summary(split, none, [](const RequestRecord& r) {
         return as_double(r.output_characters);
       })}};
  return {{"text", text},
          {"image", null_properties({"tokens", "images", "pixels", "bytes"})},
          {"video", null_properties({"tokens", "frames", "seconds", "bytes"})},
          {"audio", null_properties({"tokens", "samples", "seconds", "bytes"})}};
}

StatusDistribution output_tokens_per_iteration(const StatusSplit& split) {
  std::array<WeightedValues, 3> parts;
  for (size_t s = 0; s < 3; ++s) {
    for (const RequestRecord* r : split[s]) {
      const double outputs = static_cast<double>(r->output_token_count().value_or(0));
      if (!r->first_token || !r->last_token || r->token_iterations <= 1) {
        parts[s].emplace_back(outputs, 1.0);
        continue;
      }
      parts[s].emplace_back(outputs > 0 ? 1.0 : 0.0, 1.0);
      if (auto per = r->iter_tokens_per_iteration()) {
        parts[s].emplace_back(*per, static_cast<double>(r->token_iterations - 1));
      }
    }
  }
  return by_status(parts, values_summary);
}

StatusDistribution iter_tokens_per_iteration(const StatusSplit& split) {
  std::array<WeightedValues, 3> parts;
  for (size_t s = 0; s < 3; ++s) {
    for (const RequestRecord* r : split[s]) {
      if (!r->first_token || !r->last_token) continue;
      if (auto per = r->iter_tokens_per_iteration()) {
        parts[s].emplace_back(*per, static_cast<double>(r->token_iterations - 1));
      }
    }
  }
  return by_status(parts, values_summary);
}

}  // namespace kvtier::bench
