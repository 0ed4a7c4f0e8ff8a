#include "report/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace kvtier::report {
namespace {

std::optional<double> percent(double base, double cand) {
  if (base == 0) return std::nullopt;
  return 100.0 * (cand - base) / base;
}

// One result per level; later duplicates are reported and ignored.
std::map<double, LevelResult> by_level(const BenchResults& r, const std::string& name,
                                       std::vector<std::string>& notes) {
  std::map<double, LevelResult> out;
  for (const auto& level : r.levels) {
    if (!out.emplace(level.level, level).second) {
      notes.push_back(
          fmt::format("{} has level {:g} more than once; the first is used", name, level.level));
    }
  }
  return out;
}

std::string list(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ", ") + fmt::format("{:g}", x);
  return s;
}

}  // namespace

std::optional<double> MetricRow::percent_change() const {
  return percent(baseline, candidate);
}
std::optional<double> SummaryValue::percent_change() const {
  return percent(baseline, candidate);
}

Expected<Comparison> compare(const BenchResults& baseline, const BenchResults& candidate,
                             const std::string& baseline_name, const std::string& candidate_name) {
  Comparison c;
  c.baseline_name = baseline_name;
  c.candidate_name = candidate_name;
  auto base = by_level(baseline, baseline_name, c.notes);
  auto cand = by_level(candidate, candidate_name, c.notes);
  std::vector<double> only_base, only_cand;
  for (const auto& [level, r] : base) {
    if (cand.count(level))
      c.levels.push_back(level);
    else
      only_base.push_back(level);
  }
  for (const auto& [level, r] : cand) {
    if (!base.count(level)) only_cand.push_back(level);
  }
  if (c.levels.empty()) {
    return invalid_argument("{} (levels {}) and {} (levels {}) share no benchmark level to compare",
                            baseline.path.string(), list(only_base), candidate.path.string(),
                            list(only_cand));
  }
  if (!only_base.empty()) {
    c.notes.push_back(fmt::format("Only in {}: {} (left out)", baseline_name, list(only_base)));
  }
  if (!only_cand.empty()) {
    c.notes.push_back(fmt::format("Only in {}: {} (left out)", candidate_name, list(only_cand)));
  }
  for (double level : c.levels) {
    for (const auto* side : {&base, &cand}) {
      if (side->at(level).successful == 0) {
        c.notes.push_back(fmt::format(
            "{} completed no request at level {:g}: its latency, TTFT and ITL there are 0",
            side == &base ? baseline_name : candidate_name, level));
      }
    }
  }
  const bool concurrent = base.at(c.levels[0]).strategy == "concurrent";
  c.level_name =
      concurrent ? "Concurrency"
      : (base.at(c.levels[0]).strategy == "constant" || base.at(c.levels[0]).strategy == "poisson")
          ? "Rate (req/s)"
          : "Level";

  struct Spec {
    const char* key;
    const char* title;
    const char* unit;
    bool higher_is_better;
    int decimals;
    double LevelResult::*field;
  };
  const Spec specs[] = {
      {"throughput", "Throughput Comparison (requests/sec)", "req/s", true, 1,
       &LevelResult::requests_per_second},
      {"output_tokens", "Token Throughput Comparison (output tokens/sec)", "tok/s", true, 1,
       &LevelResult::output_tokens_per_second},
      {"latency", "Latency Comparison - Median (seconds)", "s", false, 2,
       &LevelResult::latency_median_s},
      {"ttft", "Time to First Token (TTFT) - Median (milliseconds)", "ms", false, 1,
       &LevelResult::ttft_median_ms},
      {"itl", "Inter-Token Latency (ITL) - Median (milliseconds)", "ms", false, 1,
       &LevelResult::itl_median_ms},
  };
  for (const auto& s : specs) {
    MetricTable t{s.key, s.title, s.unit, s.higher_is_better, s.decimals, {}};
    for (double level : c.levels) {
      t.rows.push_back({level, base.at(level).*s.field, cand.at(level).*s.field});
    }
    c.tables.push_back(std::move(t));
  }

  // Averages over the shared levels: throughput of each level, and each level's mean latency,
  // TTFT and ITL.
  struct Avg {
    const char* label;
    double LevelResult::*field;
    bool higher_is_better;
    int decimals;
  };
  const Avg avgs[] = {
      {"Avg Throughput (req/s)", &LevelResult::requests_per_second, true, 1},
      {"Avg Latency (s)", &LevelResult::latency_mean_s, false, 2},
      {"Avg TTFT (ms)", &LevelResult::ttft_mean_ms, false, 1},
      {"Avg ITL (ms)", &LevelResult::itl_mean_ms, false, 1},
  };
  for (const auto& a : avgs) {
    SummaryValue v{a.label, 0, 0, a.higher_is_better, a.decimals};
    for (double level : c.levels) {
      v.baseline += base.at(level).*a.field;
      v.candidate += cand.at(level).*a.field;
    }
    v.baseline /= static_cast<double>(c.levels.size());
    v.candidate /= static_cast<double>(c.levels.size());
    c.summary.push_back(v);
  }
  return c;
}

}  // namespace kvtier::report
