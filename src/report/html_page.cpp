#include "report/html_page.h"

#include <fmt/format.h>

#include "report/markdown.h"
#include "report/number_format.h"
#include "report/svg_chart.h"
#include "report/sweeps.h"
#include "report/system_section.h"
#include "report/verdict.h"

namespace kvtier::report {
namespace {

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 2em auto; max-width: 1320px; padding: 0 1em; color: #222; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
td { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.gain { color: #1a7f37; font-weight: bold; }
.loss { color: #b22; font-weight: bold; }
.noise { color: #666; }
.warning { background: #fff3cd; border: 1px solid #e0b000; padding: 0.6em 1em; }
.note { color: #555; font-style: italic; }
.badge { display: inline-block; min-width: 7em; font-size: 0.85em; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; }
)";

const char* effect_class(Effect e) {
  switch (e) {
    case Effect::kGain:
      return "gain";
    case Effect::kLoss:
      return "loss";
    case Effect::kWithinNoise:
      return "noise";
    default:
      return "";
  }
}

const char* badge_text(Effect e) {
  switch (e) {
    case Effect::kGain:
      return "pays";
    case Effect::kLoss:
      return "costs";
    case Effect::kWithinNoise:
      return "within noise";
    default:
      return "";
  }
}

std::string level_category(double level) {
  return fmt::format("{:g}", level);
}

Chart absolute_chart(const Group& g, const MetricSpec& m) {
  Chart c;
  c.title = m.title;
  c.x_label = g.level_name;
  c.y_label = fmt::format("{} ({}, mean ± SE)", m.name, m.unit);
  c.decimals = m.decimals;
  for (double l : g.levels) c.categories.push_back(level_category(l));
  for (size_t a = 0; a < g.arms.size(); ++a) {
    ChartSeries s;
    s.name = a == 0 ? g.arms[a].name + " (baseline)" : g.arms[a].name;
    for (double l : g.levels) {
      const LevelStats* st = g.arms[a].at(l);
      if (!st || !(*st)[m.id].has_value()) {
        s.points.push_back(std::nullopt);
        continue;
      }
      const Estimate& e = (*st)[m.id];
      s.points.push_back(ChartPoint{e.mean, e.has_bound() ? e.se : 0,
                                    fmt::format("{} at {:g}: {} {}", g.arms[a].name, l,
                                                format_estimate(e, m.decimals), m.unit)});
    }
    c.series.push_back(std::move(s));
  }
  return c;
}

Chart change_chart(const Group& g, const MetricSpec& m) {
  Chart c;
  c.title = fmt::format("{}: % change against {}", m.name, g.arms[0].name);
  c.x_label = g.level_name;
  c.y_label = "% change (± 2 SE)";
  c.zero_line = true;
  c.decimals = 1;
  for (double l : g.levels) c.categories.push_back(level_category(l));
  for (const auto& cmp : g.comparisons) {
    ChartSeries s;
    s.name = g.arms[cmp.arm].name;
    s.color = static_cast<int>(cmp.arm);
    for (size_t li = 0; li < g.levels.size(); ++li) {
      const auto& mc = cmp.levels[li][static_cast<size_t>(m.id)];
      if (!mc.change.has_value()) {
        s.points.push_back(std::nullopt);
        continue;
      }
      s.points.push_back(ChartPoint{
          mc.change.percent, mc.change.has_bound() ? kNoiseStandardErrors * mc.change.se : 0,
          fmt::format("{} at {:g}: {}{}", s.name, g.levels[li], format_change(mc.change),
                      effect_words(mc.effect))});
    }
    c.series.push_back(std::move(s));
  }
  return c;
}

Chart sweep_chart(const Group& g, const Sweep& sw, const MetricSpec& m) {
  Chart c;
  c.title = fmt::format("{} against {} ({})", m.name, sw.key, sw.config);
  c.x_label = sw.key;
  c.y_label = fmt::format("{} ({}, mean ± SE)", m.name, m.unit);
  c.decimals = m.decimals;
  for (size_t i : sw.arms) c.categories.push_back(g.arms[i].sweep_value);
  const std::string word = verdict_level_word(g.level_name);
  for (size_t li = 0; li < g.levels.size(); ++li) {
    const double l = g.levels[li];
    ChartSeries s;
    s.name = fmt::format("{} {:g}", word, l);
    for (size_t i : sw.arms) {
      const LevelStats* st = g.arms[i].at(l);
      if (!st || !(*st)[m.id].has_value()) {
        s.points.push_back(std::nullopt);
        continue;
      }
      const Estimate& e = (*st)[m.id];
      s.points.push_back(ChartPoint{e.mean, e.has_bound() ? e.se : 0,
                                    fmt::format("{} at {} {:g}: {} {}", g.arms[i].name, word, l,
                                                format_estimate(e, m.decimals), m.unit)});
    }
    c.series.push_back(std::move(s));
    if (const LevelStats* b = g.arms[0].at(l); b && (*b)[m.id].has_value()) {
      c.references.push_back(
          {fmt::format("{} at {:g} (baseline)", g.arms[0].name, l), (*b)[m.id].mean, li});
    }
  }
  return c;
}

void metric_table(std::string& html, const Group& g, const MetricSpec& m) {
  html += fmt::format("<div class=\"wide\"><table>\n<tr><th>{}</th><th>{} (baseline)</th>",
                      escape_xml(g.level_name), escape_xml(g.arms[0].name));
  for (size_t a = 1; a < g.arms.size(); ++a) {
    html +=
        fmt::format("<th>{}</th><th>Difference</th><th>% Change</th>", escape_xml(g.arms[a].name));
  }
  html += "</tr>\n";
  for (size_t li = 0; li < g.levels.size(); ++li) {
    const double level = g.levels[li];
    const LevelStats* base = g.arms[0].at(level);
    html += fmt::format("<tr><td>{:g}</td><td>{}</td>", level,
                        base ? format_estimate((*base)[m.id], m.decimals) : "n/a");
    for (size_t a = 1; a < g.arms.size(); ++a) {
      const LevelStats* s = g.arms[a].at(level);
      const auto& mc = g.comparisons[a - 1].levels[li][static_cast<size_t>(m.id)];
      std::string diff = "n/a";
      if (base && s && (*base)[m.id].has_value() && (*s)[m.id].has_value()) {
        diff = format_difference((*s)[m.id].mean - (*base)[m.id].mean, m.decimals);
      }
      html +=
          fmt::format("<td>{}</td><td>{}</td><td class=\"{}\">{}{}</td>",
                      s ? format_estimate((*s)[m.id], m.decimals) : "n/a", diff,
                      effect_class(mc.effect), format_change(mc.change), effect_words(mc.effect));
    }
    html += "</tr>\n";
  }
  html += "</table></div>\n";
}

void tier_table(std::string& html, const Group& g) {
  bool any = false;
  for (const auto& arm : g.arms) any |= arm.tiers.has_value();
  if (!any) return;
  html +=
      "<h3>KV-cache tiers: why it paid or did not</h3>\n<table>\n<tr><th>Arm</th><th>Cells</th>"
      "<th>GPU prefix hits %</th><th>CPU-tier hits %</th><th>Computed %</th>"
      "<th>Preemptions</th><th>Offload GPU→CPU GB</th><th>GPU→CPU GB/s</th>"
      "<th>Offload CPU→GPU GB</th><th>CPU→GPU GB/s</th></tr>\n";
  for (const auto& arm : g.arms) {
    html += fmt::format("<tr><td>{}</td>", escape_xml(arm.name));
    if (!arm.tiers) {
      html += "<td>0</td>" + std::string() +
              "<td>n/a</td><td>n/a</td><td>n/a</td><td>n/a</td><td>n/a</td><td>n/a</td>"
              "<td>n/a</td><td>n/a</td></tr>\n";
      continue;
    }
    const auto& t = *arm.tiers;
    html += fmt::format(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        t.cells, format_estimate(t.gpu_hit_percent, 1), format_estimate(t.cpu_hit_percent, 1),
        format_estimate(t.computed_percent, 1), format_estimate(t.preemptions, 0),
        format_estimate(t.gb_to_cpu, 2), format_estimate(t.gbps_to_cpu, 1),
        format_estimate(t.gb_to_gpu, 2), format_estimate(t.gbps_to_gpu, 1));
  }
  html +=
      "</table>\n<p class=\"note\">Shares of the prompt tokens looked up in the GPU prefix "
      "cache: found there, found in the CPU tier, or computed. GB/s is bytes over the time "
      "spent copying.</p>\n";
}

void test_configuration(std::string& html, const Report& r) {
  const auto& c = r.config;
  html += "<h2>Test Configuration</h2>\n";
  for (const auto& g : r.groups) {
    html += fmt::format("<h3>Workload{}</h3>\n<ul>\n",
                        g.title().empty() ? "" : ": " + escape_xml(g.title()));
    html += fmt::format("<li><b>Profile</b>: {}</li>\n", escape_xml(describe_profile(g.identity)));
    html += fmt::format("<li><b>Data</b>: <code>{}</code></li>\n",
                        escape_xml(g.identity.data.empty() ? "not recorded" : g.identity.data));
    html += fmt::format("<li><b>Model</b>: {}</li>\n",
                        escape_xml(g.identity.model.empty() ? "not recorded" : g.identity.model));
    for (const auto& [k, v] : g.identity.settings) {
      html += fmt::format("<li>{}: <code>{}</code></li>\n", escape_xml(k), escape_xml(v));
    }
    html += "</ul>\n";
  }
  if (!c.arms.empty()) {
    html += "<h3>Server configurations</h3>\n";
    for (const auto& a : c.arms) {
      html += fmt::format("<h4>{}{}</h4>\n<pre>", escape_xml(a.arm),
                          a.device.empty() ? "" : " (" + escape_xml(a.device) + ")");
      if (a.server_commands.empty()) html += "# external target: no server started\n";
      for (const auto& s : a.server_commands) html += escape_xml(s) + "\n";
      if (!a.router_command.empty()) html += escape_xml(a.router_command) + "\n";
      html += "</pre>\n";
    }
    if (!c.arms.front().bench_command.empty()) {
      html += fmt::format("<p>Bench command (first arm):</p>\n<pre>{}</pre>\n",
                          escape_xml(c.arms.front().bench_command));
    }
  }
  if (!c.hardware.empty() || !c.run_dates.empty() || !c.kvtier_version.empty()) {
    html += "<h3>Hardware and software</h3>\n<ul>\n";
    for (const auto& h : c.hardware) html += "<li>" + escape_xml(h) + "</li>\n";
    if (!c.kvtier_version.empty())
      html += "<li>kvtier: " + escape_xml(c.kvtier_version) + "</li>\n";
    if (!c.run_dates.empty()) html += "<li>Date: " + escape_xml(c.run_dates) + "</li>\n";
    if (!c.created_at.empty()) html += "<li>Planned: " + escape_xml(c.created_at) + "</li>\n";
    html += "</ul>\n";
  }
  if (!c.experiment_yaml.empty()) {
    html += "<h3>Experiment file</h3>\n<pre>" + escape_xml(c.experiment_yaml) + "</pre>\n";
  }
}

}  // namespace

std::string render_html(const Report& r) {
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>kvtier report: {0}</title>\n<style>{1}</style>\n</head>\n<body>\n"
      "<h1>kvtier report: {0}</h1>\n",
      escape_xml(r.title), kStyle);
  for (const auto& w : r.warnings) {
    html += fmt::format("<p class=\"warning\"><b>WARNING</b>: {}</p>\n", escape_xml(w));
  }
  html += "<h2>Verdict</h2>\n";
  for (const auto& g : r.groups) {
    if (!g.title().empty()) html += fmt::format("<h3>{}</h3>\n", escape_xml(g.title()));
    html += "<ul class=\"verdict\">\n";
    for (const auto& line : g.verdict) {
      const std::string badge = badge_text(line.effect);
      html += fmt::format("<li>{}{}</li>\n",
                          badge.empty() ? std::string()
                                        : fmt::format("<span class=\"badge {}\">{}</span> ",
                                                      effect_class(line.effect), badge),
                          escape_xml(line.text));
    }
    html += "</ul>\n";
  }
  html += fmt::format(
      "<p class=\"note\">A change is a gain (green) or a loss (red) only beyond {:g} standard "
      "errors of the difference; smaller changes are within noise and never coloured. Values "
      "are means over repeats ± one standard error; with one run there is no noise estimate and "
      "nothing is coloured.</p>\n",
      kNoiseStandardErrors);
  test_configuration(html, r);  // where the seed report has it: before the results

  for (const auto& g : r.groups) {
    if (g.arms.empty()) continue;
    html += g.title().empty()
                ? std::string("<h2>Benchmark results</h2>\n")
                : fmt::format("<h2>Benchmark results: {}</h2>\n", escape_xml(g.title()));
    std::string levels;
    for (double l : g.levels) levels += (levels.empty() ? "" : ", ") + fmt::format("{:g}", l);
    html += fmt::format("<p>{} levels: {}</p>\n", escape_xml(g.level_name), levels);
    for (const auto& m : metric_specs()) {
      if (!m.in_tables || m.id == Metric::kErrored || m.id == Metric::kIncomplete) {
        continue;
      }
      html += fmt::format("<h3>{}</h3>\n<div class=\"charts\">\n{}", escape_xml(m.title),
                          render_svg_chart(absolute_chart(g, m)));
      if (!g.comparisons.empty()) html += render_svg_chart(change_chart(g, m));
      html += "</div>\n";
      metric_table(html, g, m);
    }
    for (Metric m : {Metric::kErrored, Metric::kIncomplete}) {
      html += fmt::format("<h3>{}</h3>\n", escape_xml(spec(m).title));
      metric_table(html, g, spec(m));
    }
    tier_table(html, g);
    system_html(html, g);
    for (const auto& sw : find_sweeps(g)) {
      html += fmt::format("<h3>Swept: {} of {}</h3>\n<div class=\"charts\">\n", escape_xml(sw.key),
                          escape_xml(sw.config));
      for (Metric m : {Metric::kOutputTokensPerSecond, Metric::kTtftP50}) {
        html += render_svg_chart(sweep_chart(g, sw, spec(m)));
      }
      html += "</div>\n";
    }
    for (const auto& note : g.notes) {
      html += fmt::format("<p class=\"note\">Note: {}</p>\n", escape_xml(note));
    }
  }
  return html + "</body>\n</html>\n";
}

}  // namespace kvtier::report
