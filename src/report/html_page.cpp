#include "report/html_page.h"

#include <fmt/format.h>

#include "report/number_format.h"
#include "report/svg_chart.h"

namespace kvtier::report {
namespace {

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.better { font-weight: bold; }
.worse { color: #b22; }
.improved { color: #272; }
.note { color: #555; font-style: italic; }
)";

// A change is good when it moves the metric the right way.
const char* change_class(std::optional<double> pct, bool higher_is_better) {
  if (!pct || *pct == 0) return "";
  const bool good = higher_is_better ? *pct > 0 : *pct < 0;
  return good ? "improved" : "worse";
}

}  // namespace

std::string render_html(const Comparison& c) {
  const std::string base = escape_xml(c.baseline_name);
  const std::string cand = escape_xml(c.candidate_name);
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>{1} vs {0}</title>\n<style>{2}</style>\n</head>\n<body>\n"
      "<h1>Benchmark comparison: {1} vs {0} (baseline)</h1>\n",
      base, cand, kStyle);
  std::string levels;
  for (double l : c.levels) levels += (levels.empty() ? "" : ", ") + fmt::format("{:g}", l);
  html += fmt::format("<p>{} levels compared: {}</p>\n", escape_xml(c.level_name), levels);

  html += "<h2>Performance summary</h2>\n<table>\n<tr><th>Configuration</th>";
  for (const auto& s : c.summary) html += fmt::format("<th>{}</th>", escape_xml(s.label));
  html += fmt::format("</tr>\n<tr><td>{} (baseline)</td>", base);
  for (const auto& s : c.summary)
    html += fmt::format("<td>{}</td>", format_value(s.baseline, s.decimals));
  html += fmt::format("</tr>\n<tr><td>{}</td>", cand);
  for (const auto& s : c.summary) {
    const auto pct = s.percent_change();
    html += fmt::format("<td>{} <span class=\"{}\">({})</span></td>",
                        format_value(s.candidate, s.decimals),
                        change_class(pct, s.higher_is_better), format_percent(pct));
  }
  html += fmt::format(
      "</tr>\n</table>\n<p class=\"note\">Averages over the {} shared levels: throughput of each "
      "level, and each level's mean latency, TTFT and ITL.</p>\n",
      c.levels.size());
  for (const auto& note : c.notes)
    html += fmt::format("<p class=\"note\">Note: {}</p>\n", escape_xml(note));

  for (const auto& t : c.tables) {
    html += fmt::format("<h2>{}</h2>\n<div class=\"chart\">\n{}</div>\n", escape_xml(t.title),
                        render_svg_chart(t, c.baseline_name, c.candidate_name, c.level_name));
    html += fmt::format(
        "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>Difference</th><th>% Change</th></tr>\n",
        escape_xml(c.level_name), base, cand);
    for (const auto& r : t.rows) {
      const auto pct = r.percent_change();
      html += fmt::format(
          "<tr><td>{:g}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>\n",
          r.level, format_value(r.baseline, t.decimals), format_value(r.candidate, t.decimals),
          format_difference(r.difference(), t.decimals), change_class(pct, t.higher_is_better),
          format_percent(pct));
    }
    html += "</table>\n";
  }
  return html + "</body>\n</html>\n";
}

}  // namespace kvtier::report
