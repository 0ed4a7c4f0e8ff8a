#include "report/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "report/system_readings.h"
#include "report/verdict.h"

namespace kvtier::report {
namespace {

std::string level_name_of(const std::string& strategy) {
  if (strategy == "concurrent") return "Concurrency";
  if (strategy == "constant" || strategy == "poisson") return "Rate (req/s)";
  return "Level";
}

// Every run of every arm against the baseline's first run.
Status check_identities(Group& g, const ReportOptions& options,
                        std::vector<std::string>& warnings) {
  const RunInput* reference = nullptr;
  for (const auto& arm : g.arms) {
    for (const auto& run : arm.runs) {
      if (!reference) {
        reference = &run;
        continue;
      }
      auto diffs = identity_differences(reference->results.identity, reference->name,
                                        run.results.identity, run.name);
      if (diffs.empty()) continue;
      std::string list;
      for (const auto& d : diffs) list += (list.empty() ? "" : "; ") + d;
      if (!options.force) {
        return invalid_argument(
            "{} and {} were not run the same way ({}): their numbers are not comparable. Pass "
            "--force to compare them anyway",
            reference->name, run.name, list);
      }
      warnings.push_back(fmt::format("Compared with --force although {} and {} differ: {}",
                                     reference->name, run.name, list));
    }
  }
  if (reference) g.identity = reference->results.identity;
  return Status::ok();
}

void arm_statistics(Arm& arm, std::vector<std::string>& notes) {
  // level -> per-run results (one per run; a duplicated level keeps the first), and the run's
  // system reading there (nullptr without one).
  std::map<double, std::vector<const LevelResult*>> by_level;
  std::map<double, std::vector<const SystemReading*>> system_by_level;
  std::vector<MetricsDelta> deltas;
  for (const auto& run : arm.runs) {
    std::set<double> seen;
    for (size_t i = 0; i < run.results.levels.size(); ++i) {
      const LevelResult& l = run.results.levels[i];
      if (!seen.insert(l.level).second) {
        notes.push_back(
            fmt::format("{} has level {:g} more than once; the first is used", run.name, l.level));
        continue;
      }
      by_level[l.level].push_back(&l);
      system_by_level[l.level].push_back(
          i < run.system.size() && run.system[i] ? &*run.system[i] : nullptr);
    }
    if (run.metrics_delta) deltas.push_back(*run.metrics_delta);
  }
  arm.levels.clear();
  for (const auto& [level, results] : by_level) {
    LevelStats s;
    s.level = level;
    s.repeats = static_cast<int>(results.size());
    for (const auto& m : metric_specs()) {
      std::vector<double> values;
      for (const auto* r : results) values.push_back(m.value(*r));
      s.metrics[static_cast<size_t>(m.id)] = estimate(values);
    }
    s.system = system_statistics(system_by_level[level]);
    arm.levels.push_back(s);
    for (const auto* r : results) {
      if (r->successful == 0) {
        notes.push_back(fmt::format(
            "{} completed no request at level {:g}: its latency, TTFT and ITL there are 0",
            arm.name, level));
        break;
      }
    }
  }
  arm.tiers = summarize_tiers(deltas);
}

std::string list(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ", ") + fmt::format("{:g}", x);
  return s;
}

}  // namespace

Status build_report(Report& report, const ReportOptions& options) {
  for (auto& g : report.groups) {
    if (g.arms.empty()) continue;
    KVTIER_RETURN_IF_ERROR(check_identities(g, options, report.warnings));
    std::set<double> all_levels;
    for (auto& arm : g.arms) {
      arm_statistics(arm, g.notes);
      for (const auto& l : arm.levels) all_levels.insert(l.level);
    }
    g.levels.assign(all_levels.begin(), all_levels.end());
    std::string strategy;
    for (const auto& arm : g.arms) {
      for (const auto& run : arm.runs) {
        if (strategy.empty() && !run.results.levels.empty()) {
          strategy = run.results.levels.front().strategy;
        }
      }
    }
    g.level_name = level_name_of(strategy);
    const Arm& base = g.arms[0];
    for (const auto& arm : g.arms) {
      std::vector<double> missing;
      for (double level : g.levels) {
        const LevelStats* s = arm.at(level);
        if (!s) missing.push_back(level);
        if (s && s->repeats < 2) g.single_run = true;
      }
      if (!missing.empty() && !arm.levels.empty()) {
        g.notes.push_back(fmt::format("{} has no results at {} {}", arm.name,
                                      verdict_level_word(g.level_name), list(missing)));
      }
    }
    g.comparisons.clear();
    for (size_t a = 1; a < g.arms.size(); ++a) {
      ArmComparison cmp;
      cmp.arm = a;
      for (double level : g.levels) {
        std::array<MetricChange, kMetricCount> row{};
        const LevelStats* b = base.at(level);
        const LevelStats* c = g.arms[a].at(level);
        if (b && c) {
          for (const auto& m : metric_specs()) {
            const size_t i = static_cast<size_t>(m.id);
            row[i].change = relative_change(b->metrics[i], c->metrics[i]);
            row[i].effect = classify(row[i].change, m.higher_is_better);
          }
        }
        cmp.levels.push_back(row);
      }
      g.comparisons.push_back(std::move(cmp));
    }
    g.verdict = verdict_lines(g);
  }
  return Status::ok();
}

}  // namespace kvtier::report
