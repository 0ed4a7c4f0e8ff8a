#include "report/markdown.h"

#include <fmt/format.h>

#include <cmath>

#include "report/number_format.h"
#include "report/sweeps.h"
#include "report/system_section.h"
#include "report/verdict.h"

namespace kvtier::report {
namespace {

constexpr Metric kSummary[] = {Metric::kRequestsPerSecond, Metric::kLatencyMean, Metric::kTtftMean,
                               Metric::kItlMean};
constexpr const char* kSummaryLabels[] = {"Avg Throughput (req/s)", "Avg Latency (s)",
                                          "Avg TTFT (ms)", "Avg ITL (ms)"};

std::string levels_text(const std::vector<double>& levels) {
  std::string s;
  for (double l : levels) s += (s.empty() ? "" : ", ") + fmt::format("{:g}", l);
  return s;
}

std::string repeats_text(const Group& g) {
  std::string s;
  for (const auto& arm : g.arms) {
    int lo = 0, hi = 0;
    for (const auto& l : arm.levels) {
      lo = lo == 0 ? l.repeats : std::min(lo, l.repeats);
      hi = std::max(hi, l.repeats);
    }
    s += fmt::format("{}{} {}", s.empty() ? "" : ", ", arm.name,
                     lo == hi ? fmt::format("{}", hi) : fmt::format("{}-{}", lo, hi));
  }
  return s;
}

void verdict_section(std::string& out, const Group& g) {
  if (!g.title().empty()) out += fmt::format("### {}\n\n", g.title());
  for (const auto& line : g.verdict) out += fmt::format("- {}\n", line.text);
  out += "\n";
}

void summary_table(std::string& out, const Group& g) {
  out += "### Performance Summary\n\n| Configuration |";
  for (const char* label : kSummaryLabels) out += fmt::format(" {} |", label);
  out += "\n|---|---|---|---|---|\n";
  // Averages over the levels every arm has.
  std::vector<double> shared;
  for (double level : g.levels) {
    bool all = true;
    for (const auto& arm : g.arms) all &= arm.at(level) != nullptr;
    if (all) shared.push_back(level);
  }
  std::vector<std::array<Estimate, 4>> avgs;
  for (const auto& arm : g.arms) {
    std::array<Estimate, 4> row;
    for (size_t k = 0; k < 4; ++k) {
      std::vector<Estimate> per_level;
      for (double level : shared) per_level.push_back((*arm.at(level))[kSummary[k]]);
      row[k] = average(per_level);
    }
    avgs.push_back(row);
  }
  for (size_t a = 0; a < g.arms.size(); ++a) {
    out += a == 0 ? fmt::format("| **{} (baseline)** |", g.arms[0].name)
                  : fmt::format("| {} |", g.arms[a].name);
    for (size_t k = 0; k < 4; ++k) {
      const auto& m = spec(kSummary[k]);
      std::string cell = format_estimate(avgs[a][k], m.decimals);
      if (a > 0) {
        const Change c = relative_change(avgs[0][k], avgs[a][k]);
        const Effect e = classify(c, m.higher_is_better);
        if (e == Effect::kGain || e == Effect::kLoss) cell = "**" + cell + "**";
        cell += fmt::format(" ({}){}", format_change(c), effect_words(e));
      }
      out += " " + cell + " |";
    }
    out += "\n";
  }
  out += fmt::format(
      "\nAverages are over the {} levels every arm has: throughput of each level, and each "
      "level's mean latency, TTFT and ITL.\n\n",
      shared.size());
}

void metric_table(std::string& out, const Group& g, const MetricSpec& m) {
  out += fmt::format("#### {}\n\n| {} | {} |", m.title, g.level_name, g.arms[0].name);
  std::string rule = "|---|---|";
  for (size_t a = 1; a < g.arms.size(); ++a) {
    out += fmt::format(" {} | Difference | % Change |", g.arms[a].name);
    rule += "---|---|---|";
  }
  out += "\n" + rule + "\n";
  for (size_t li = 0; li < g.levels.size(); ++li) {
    const double level = g.levels[li];
    const LevelStats* base = g.arms[0].at(level);
    out += fmt::format("| {:g} | {} |", level,
                       base ? format_estimate((*base)[m.id], m.decimals) : "n/a");
    for (size_t a = 1; a < g.arms.size(); ++a) {
      const LevelStats* s = g.arms[a].at(level);
      const auto& mc = g.comparisons[a - 1].levels[li][static_cast<size_t>(m.id)];
      std::string diff = "n/a";
      if (base && s && (*base)[m.id].has_value() && (*s)[m.id].has_value()) {
        diff = format_difference((*s)[m.id].mean - (*base)[m.id].mean, m.decimals);
      }
      out += fmt::format(" {} | {} | {}{} |", s ? format_estimate((*s)[m.id], m.decimals) : "n/a",
                         diff, format_change(mc.change), effect_words(mc.effect));
    }
    out += "\n";
  }
  out += "\n";
}

void tier_table(std::string& out, const Group& g) {
  bool any = false;
  for (const auto& arm : g.arms) any |= arm.tiers.has_value();
  if (!any) return;
  out +=
      "### KV-cache tiers: why it paid or did not\n\n"
      "| Arm | Cells | GPU prefix hits % | CPU-tier hits % | Computed % | Preemptions | "
      "Offload GPU→CPU GB | GPU→CPU GB/s | Offload CPU→GPU GB | CPU→GPU GB/s |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& arm : g.arms) {
    if (!arm.tiers) {
      out += fmt::format("| {} | 0 | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |\n", arm.name);
      continue;
    }
    const auto& t = *arm.tiers;
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", arm.name, t.cells,
                       format_estimate(t.gpu_hit_percent, 1), format_estimate(t.cpu_hit_percent, 1),
                       format_estimate(t.computed_percent, 1), format_estimate(t.preemptions, 0),
                       format_estimate(t.gb_to_cpu, 2), format_estimate(t.gbps_to_cpu, 1),
                       format_estimate(t.gb_to_gpu, 2), format_estimate(t.gbps_to_gpu, 1));
  }
  out +=
      "\nShares of the prompt tokens looked up in the GPU prefix cache: found there, found in "
      "the CPU tier, or computed. Counters are the engines' /metrics after the run minus "
      "before (all levels of a cell together); GB/s is bytes over the time spent copying.\n\n";
}

void sweep_tables(std::string& out, const Group& g) {
  for (const auto& s : find_sweeps(g)) {
    for (Metric metric : {Metric::kOutputTokensPerSecond, Metric::kTtftP50}) {
      const auto& m = spec(metric);
      out += fmt::format("### {} against {} ({})\n\n| {} |", m.name, s.key, s.config, s.key);
      std::string rule = "|---|";
      for (double level : g.levels) {
        out += fmt::format(" {} {:g} |", verdict_level_word(g.level_name), level);
        rule += "---|";
      }
      out += "\n" + rule + "\n";
      out += fmt::format("| {} (baseline) |", g.arms[0].name);
      for (double level : g.levels) {
        const LevelStats* b = g.arms[0].at(level);
        out += fmt::format(" {} |", b ? format_estimate((*b)[metric], m.decimals) : "n/a");
      }
      out += "\n";
      for (size_t i : s.arms) {
        out += fmt::format("| {} |", g.arms[i].sweep_value);
        for (double level : g.levels) {
          const LevelStats* l = g.arms[i].at(level);
          out += fmt::format(" {} |", l ? format_estimate((*l)[metric], m.decimals) : "n/a");
        }
        out += "\n";
      }
      out += "\n";
    }
  }
}

void test_configuration(std::string& out, const Report& r) {
  const auto& c = r.config;
  out += "## Test Configuration\n\n";
  for (const auto& g : r.groups) {
    out += fmt::format("### Workload{}\n\n", g.title().empty() ? "" : ": " + g.title());
    out += fmt::format("- **Profile**: {}\n", describe_profile(g.identity));
    out += fmt::format("- **Data**: `{}`\n",
                       g.identity.data.empty() ? "not recorded" : g.identity.data);
    out += fmt::format("- **Model**: {}\n",
                       g.identity.model.empty() ? "not recorded" : g.identity.model);
    for (const auto& [k, v] : g.identity.settings) out += fmt::format("- {}: `{}`\n", k, v);
    out += "\n";
  }
  if (!c.arms.empty()) {
    out += "### Server configurations\n\n";
    for (size_t i = 0; i < c.arms.size(); ++i) {
      const auto& a = c.arms[i];
      out += fmt::format("{}. **{}**{}:\n   ```bash\n", i + 1, a.arm,
                         a.device.empty() ? "" : fmt::format(" ({})", a.device));
      if (a.server_commands.empty()) out += "   # external target: no server started\n";
      for (const auto& s : a.server_commands) out += "   " + s + "\n";
      if (!a.router_command.empty()) out += "   " + a.router_command + "\n";
      out += "   ```\n";
    }
    const std::string& bench = c.arms.front().bench_command;
    if (!bench.empty())
      out += fmt::format("\nBench command (first arm):\n```bash\n{}\n```\n", bench);
    out += "\n";
  }
  if (!c.hardware.empty() || !c.run_dates.empty() || !c.kvtier_version.empty()) {
    out += "### Hardware and software\n\n";
    for (const auto& h : c.hardware) out += "- " + h + "\n";
    if (!c.kvtier_version.empty()) out += fmt::format("- kvtier: {}\n", c.kvtier_version);
    if (!c.run_dates.empty()) out += fmt::format("- Date: {}\n", c.run_dates);
    if (!c.created_at.empty()) out += fmt::format("- Planned: {}\n", c.created_at);
    out += "\n";
  }
  if (!c.experiment_yaml.empty()) {
    out += fmt::format("### Experiment file\n\n```yaml\n{}{}```\n\n", c.experiment_yaml,
                       c.experiment_yaml.back() == '\n' ? "" : "\n");
  }
}

}  // namespace

const char* effect_words(Effect e) {
  switch (e) {
    case Effect::kGain:
      return " (gain)";
    case Effect::kLoss:
      return " (loss)";
    case Effect::kWithinNoise:
      return " (within noise)";
    default:
      return "";
  }
}

std::string render_markdown(const Report& r) {
  std::string out = fmt::format("# kvtier report: {}\n\n", r.title);
  for (const auto& w : r.warnings) out += fmt::format("> **WARNING**: {}\n", w);
  if (!r.warnings.empty()) out += "\n";

  out += "## Verdict\n\n";
  for (const auto& g : r.groups) verdict_section(out, g);
  out += fmt::format(
      "A change is a gain or a loss only beyond {:g} standard errors of the difference (means "
      "over repeats, ± one SE); smaller changes are within noise. With one run there is no "
      "noise estimate. See docs/report.md.\n\n",
      kNoiseStandardErrors);
  test_configuration(out, r);  // where the seed report has it: before the results

  for (const auto& g : r.groups) {
    if (g.arms.empty()) continue;
    out += g.title().empty() ? "## Benchmark Results\n\n"
                             : fmt::format("## Benchmark Results: {}\n\n", g.title());
    out += fmt::format("{} levels: {}. Repeats: {}.\n\n", g.level_name, levels_text(g.levels),
                       repeats_text(g));
    summary_table(out, g);
    out += fmt::format("### Detailed Results by {} Level\n\n",
                       g.level_name == "Rate (req/s)" ? "Rate" : g.level_name);
    for (const auto& m : metric_specs()) {
      if (m.in_tables) metric_table(out, g, m);
    }
    tier_table(out, g);
    system_markdown(out, g);
    sweep_tables(out, g);
    for (const auto& note : g.notes) out += fmt::format("> Note: {}\n", note);
    if (!g.notes.empty()) out += "\n";
  }
  return out;
}

}  // namespace kvtier::report
