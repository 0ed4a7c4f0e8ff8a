#include "report/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/number_format.h"

namespace kvtier::report {
namespace {

enum class LevelClass { kNoData, kNoBound, kNoise, kGain, kLoss, kMixed };

constexpr Metric kHeadline[] = {Metric::kOutputTokensPerSecond, Metric::kTtftP50};

LevelClass classify_level(const std::array<MetricChange, kMetricCount>& row) {
  bool gain = false, loss = false, no_bound = false, any = false;
  for (Metric m : kHeadline) {
    const Effect e = row[static_cast<size_t>(m)].effect;
    any |= e != Effect::kUnknown;
    gain |= e == Effect::kGain;
    loss |= e == Effect::kLoss;
    no_bound |= e == Effect::kNoBound;
  }
  if (!any) return LevelClass::kNoData;
  if (no_bound) return LevelClass::kNoBound;
  if (gain && loss) return LevelClass::kMixed;
  if (gain) return LevelClass::kGain;
  if (loss) return LevelClass::kLoss;
  return LevelClass::kNoise;
}

// "+18.3% ± 2.1% output tok/s, median TTFT -41.0% ± 5.0%"
std::string headline_numbers(const std::array<MetricChange, kMetricCount>& row) {
  std::string s;
  const auto& tok = row[static_cast<size_t>(Metric::kOutputTokensPerSecond)].change;
  const auto& ttft = row[static_cast<size_t>(Metric::kTtftP50)].change;
  if (tok.has_value()) s = format_change(tok) + " output tok/s";
  if (ttft.has_value()) s += (s.empty() ? "" : ", ") + ("median TTFT " + format_change(ttft));
  return s;
}

// "25" / ">= 25" / "<= 25" / "5, 50" over the group's levels.
std::string level_set(const std::vector<size_t>& idx, const std::vector<double>& levels) {
  auto g = [&](size_t i) { return fmt::format("{:g}", levels[i]); };
  if (idx.size() == 1) return g(idx[0]);
  bool contiguous = true;
  for (size_t k = 1; k < idx.size(); ++k) contiguous &= idx[k] == idx[k - 1] + 1;
  if (contiguous && idx.back() == levels.size() - 1) return ">= " + g(idx.front());
  if (contiguous && idx.front() == 0) return "<= " + g(idx.back());
  std::string s;
  for (size_t i : idx) s += (s.empty() ? "" : ", ") + g(i);
  return s;
}

std::string clause(const char* what, const std::vector<size_t>& idx, const Group& g,
                   const ArmComparison& cmp, const std::string& word) {
  std::string details;
  if (idx.size() == 1) {
    details = ": " + headline_numbers(cmp.levels[idx[0]]);
  } else {
    for (size_t i : idx) {
      details += fmt::format("{}{:g}: {}", details.empty() ? " (" : "; ", g.levels[i],
                             headline_numbers(cmp.levels[i]));
    }
    details += ")";
  }
  if (idx.size() > 1 && idx.size() == g.levels.size()) {
    return fmt::format("{} at every {}{}", what, word, details);
  }
  return fmt::format("{} at {} {}{}", what, word, level_set(idx, g.levels), details);
}

std::string arm_sentence(const Group& g, const ArmComparison& cmp, Effect& effect) {
  const Arm& arm = g.arms[cmp.arm];
  const std::string word = verdict_level_word(g.level_name);
  if (arm.levels.empty()) {
    effect = Effect::kUnknown;
    return fmt::format("{}: no results to compare (every cell failed or none ran)", arm.name);
  }
  std::vector<size_t> gain, loss, mixed, noise, no_bound;
  for (size_t i = 0; i < cmp.levels.size(); ++i) {
    switch (classify_level(cmp.levels[i])) {
      case LevelClass::kGain:
        gain.push_back(i);
        break;
      case LevelClass::kLoss:
        loss.push_back(i);
        break;
      case LevelClass::kMixed:
        mixed.push_back(i);
        break;
      case LevelClass::kNoise:
        noise.push_back(i);
        break;
      case LevelClass::kNoBound:
        no_bound.push_back(i);
        break;
      case LevelClass::kNoData:
        break;
    }
  }
  std::vector<std::string> parts;
  if (!gain.empty()) parts.push_back(clause("pays", gain, g, cmp, word));
  if (!loss.empty()) parts.push_back(clause("costs", loss, g, cmp, word));
  if (!mixed.empty()) parts.push_back(clause("gains and loses", mixed, g, cmp, word));
  if (!noise.empty()) parts.push_back(clause("no measurable effect", noise, g, cmp, word));
  if (!no_bound.empty()) {
    parts.push_back(
        fmt::format("single run: no noise bound; differences below ~{:g}% are not meaningful; {}",
                    kSingleRunNoisePercent, clause("measured", no_bound, g, cmp, word)));
  }
  if (parts.empty()) parts.push_back("no level in common with the baseline");
  effect = !gain.empty() && loss.empty() && mixed.empty()   ? Effect::kGain
           : !loss.empty() && gain.empty() && mixed.empty() ? Effect::kLoss
           : !noise.empty() && gain.empty() && loss.empty() && mixed.empty() && no_bound.empty()
               ? Effect::kWithinNoise
               : Effect::kNoBound;
  std::string s = arm.name + ": " + parts[0];
  for (size_t i = 1; i < parts.size(); ++i) s += "; " + parts[i];
  return s;
}

}  // namespace

std::string verdict_level_word(const std::string& level_name) {
  if (level_name == "Concurrency") return "concurrency";
  if (level_name == "Rate (req/s)") return "rate";
  return "level";
}

std::string format_change(const Change& c) {
  if (!c.has_value()) return "n/a";
  std::string s = format_percent(c.percent);
  if (c.has_bound()) s += fmt::format(" ± {:.1f}%", c.se);
  return s;
}

std::vector<VerdictLine> verdict_lines(const Group& g) {
  std::vector<VerdictLine> out;
  if (g.arms.empty()) return out;
  const std::string word = verdict_level_word(g.level_name);
  if (g.arms[0].levels.empty()) {
    out.push_back(
        {fmt::format("{} (baseline): no results; nothing can be compared", g.arms[0].name),
         Effect::kUnknown});
  } else {
    for (const auto& cmp : g.comparisons) {
      VerdictLine line;
      line.text = arm_sentence(g, cmp, line.effect);
      out.push_back(std::move(line));
    }
  }
  // Two repeats give an SE from one degree of freedom: say how rough the bound is.
  int fewest = 0;
  for (const auto& cmp : g.comparisons) {
    for (double level : g.levels) {
      const LevelStats* b = g.arms[0].at(level);
      const LevelStats* c = g.arms[cmp.arm].at(level);
      if (!b || !c || b->repeats < 2 || c->repeats < 2) continue;
      const int n = std::min(b->repeats, c->repeats);
      fewest = fewest == 0 ? n : std::min(fewest, n);
    }
  }
  if (fewest == 2) {
    out.push_back(
        {"few repeats: some levels have only 2 runs per arm, so their standard errors "
         "are rough and an effect a little beyond 2 SE may still be noise (3 or more "
         "repeats, arms alternating, make the bound firmer)",
         Effect::kUnknown});
  }
  // Errors: every arm (the baseline too) at every level where requests errored.
  for (const auto& arm : g.arms) {
    for (const auto& l : arm.levels) {
      const Estimate& e = l[Metric::kErrored];
      if (e.has_value() && e.mean > 0) {
        out.push_back({fmt::format("errors: {} at {} {:g}: {} errored requests per run (mean of "
                                   "{} run{})",
                                   arm.name, word, l.level, format_value(e.mean, 1), e.n,
                                   e.n == 1 ? "" : "s"),
                       Effect::kUnknown});
      }
    }
  }
  for (const auto& arm : g.arms) {
    for (const auto& f : arm.failures) {
      out.push_back({fmt::format("failed: {}: {}", arm.name, f), Effect::kUnknown});
    }
  }
  return out;
}

}  // namespace kvtier::report
