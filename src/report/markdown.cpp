#include "report/markdown.h"

#include <fmt/format.h>

#include "report/number_format.h"

namespace kvtier::report {
namespace {

std::string bold_if(bool bold, const std::string& s) {
  return bold ? "**" + s + "**" : s;
}

// Which side is better (ties: neither).
std::pair<bool, bool> better(double base, double cand, bool higher_is_better, int decimals) {
  const std::string b = format_value(base, decimals);
  const std::string c = format_value(cand, decimals);
  if (b == c) return {false, false};
  const bool base_wins = higher_is_better ? base > cand : base < cand;
  return {base_wins, !base_wins};
}

}  // namespace

std::string render_markdown(const Comparison& c) {
  std::string out;
  out += fmt::format("## Benchmark Comparison: {} vs {} (baseline)\n\n", c.candidate_name,
                     c.baseline_name);
  std::string levels;
  for (double l : c.levels) levels += (levels.empty() ? "" : ", ") + fmt::format("{:g}", l);
  out += fmt::format("{} levels compared: {}\n\n", c.level_name, levels);

  out += "### Performance Summary\n\n| Configuration |";
  for (const auto& s : c.summary) out += fmt::format(" {} |", s.label);
  out += "\n|---|";
  for (size_t i = 0; i < c.summary.size(); ++i) out += "---|";
  out += fmt::format("\n| **{} (baseline)** |", c.baseline_name);
  for (const auto& s : c.summary) {
    auto [b, _] = better(s.baseline, s.candidate, s.higher_is_better, s.decimals);
    out += fmt::format(" {} |", bold_if(b, format_value(s.baseline, s.decimals)));
  }
  out += fmt::format("\n| {} |", c.candidate_name);
  for (const auto& s : c.summary) {
    auto [_, w] = better(s.baseline, s.candidate, s.higher_is_better, s.decimals);
    out += fmt::format(" {} ({}) |", bold_if(w, format_value(s.candidate, s.decimals)),
                       format_percent(s.percent_change()));
  }
  out += fmt::format(
      "\n\nAverages are over the {} shared levels: throughput of each level, and each level's "
      "mean latency, TTFT and ITL.\n\n",
      c.levels.size());

  out += fmt::format("### Detailed Results by {} Level\n\n",
                     c.level_name == "Rate (req/s)" ? "Rate" : c.level_name);
  for (const auto& t : c.tables) {
    out += fmt::format("#### {}\n\n| {} | {} | {} | Difference | % Change |\n", t.title,
                       c.level_name, c.baseline_name, c.candidate_name);
    out += "|---|---|---|---|---|\n";
    for (const auto& r : t.rows) {
      out += fmt::format(
          "| {:g} | {} | {} | {} | {} |\n", r.level, format_value(r.baseline, t.decimals),
          format_value(r.candidate, t.decimals), format_difference(r.difference(), t.decimals),
          format_percent(r.percent_change()));
    }
    out += "\n";
  }
  for (const auto& note : c.notes) out += fmt::format("> Note: {}\n", note);
  if (!c.notes.empty()) out += "\n";
  return out;
}

}  // namespace kvtier::report
