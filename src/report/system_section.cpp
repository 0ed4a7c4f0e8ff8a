#include "report/system_section.h"

#include <fmt/format.h>

#include <optional>
#include <vector>

#include "report/number_format.h"
#include "report/svg_chart.h"

namespace kvtier::report {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kGB = 1e9;  // PCIe GB/s as the tier counters count them: 1 GB = 1e9 bytes

// One column of the table (and, where `chart`, one chart of the HTML page).
struct Column {
  const char* title;   // table header
  const char* label;   // y axis: "CPU busy (% of all cores, mean ± SE)"
  std::optional<Estimate> SystemMetrics::*field;
  double divisor;
  int decimals;
  bool gpu;
  bool chart;
};

// NVML counts PCIe traffic from the GPU's side: TX is what it sends (device -> host), RX what it
// receives (host -> device). See docs/monitor.md.
constexpr Column kColumns[] = {
    {"CPU busy %", "CPU busy (% of all cores, mean ± SE)", &SystemMetrics::cpu_busy_percent, 1,
     1, false, true},
    {"Host memory used (GiB)", "", &SystemMetrics::mem_used_bytes, kGiB, 2, false, false},
    {"GPU util %", "", &SystemMetrics::gpu_util_percent, 1, 1, true, false},
    {"GPU memory used (GiB)", "", &SystemMetrics::gpu_mem_used_bytes, kGiB, 2, true, false},
    {"PCIe host→device GB/s (RX)", "PCIe host→device (GB/s, NVML RX, mean ± SE)",
     &SystemMetrics::pcie_rx_bytes_per_s, kGB, 2, true, true},
    {"PCIe device→host GB/s (TX)", "PCIe device→host (GB/s, NVML TX, mean ± SE)",
     &SystemMetrics::pcie_tx_bytes_per_s, kGB, 2, true, true},
};

Estimate scaled(const Estimate& e, double divisor) {
  Estimate out = e;
  out.mean = e.mean / divisor;
  out.se = e.se / divisor;
  return out;
}

std::string cell_text(const LevelStats* s, const Column& c) {
  if (!s || !(s->system.*c.field)) return "n/a";
  return format_estimate(scaled(*(s->system.*c.field), c.divisor), c.decimals);
}

std::vector<const Column*> columns(const Group& g) {
  const bool gpu = has_gpu_metrics(g);
  std::vector<const Column*> out;
  for (const auto& c : kColumns) {
    if (!c.gpu || gpu) out.push_back(&c);
  }
  return out;
}

// Header and rows: arm, level, repeats with a reading, then the columns.
std::vector<std::vector<std::string>> table(const Group& g) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"Arm", g.level_name, "Archives"};
  for (const Column* c : columns(g)) header.push_back(c->title);
  rows.push_back(std::move(header));
  for (size_t a = 0; a < g.arms.size(); ++a) {
    const Arm& arm = g.arms[a];
    for (double level : g.levels) {
      const LevelStats* s = arm.at(level);
      std::vector<std::string> row = {a == 0 ? arm.name + " (baseline)" : arm.name,
                                      fmt::format("{:g}", level),
                                      fmt::format("{}", s ? s->system.archives : 0)};
      for (const Column* c : columns(g)) row.push_back(cell_text(s, *c));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

Chart system_chart(const Group& g, const Column& c) {
  Chart chart;
  chart.title = c.title;
  chart.x_label = g.level_name;
  chart.y_label = c.label;
  chart.decimals = c.decimals;
  for (double l : g.levels) chart.categories.push_back(fmt::format("{:g}", l));
  for (size_t a = 0; a < g.arms.size(); ++a) {
    ChartSeries s;
    s.name = a == 0 ? g.arms[a].name + " (baseline)" : g.arms[a].name;
    s.color = static_cast<int>(a);  // the arm's colour in the other charts
    bool any = false;
    for (double l : g.levels) {
      const LevelStats* st = g.arms[a].at(l);
      if (!st || !(st->system.*c.field)) {
        s.points.push_back(std::nullopt);
        continue;
      }
      any = true;
      const Estimate e = scaled(*(st->system.*c.field), c.divisor);
      s.points.push_back(ChartPoint{
          e.mean, e.has_bound() ? e.se : 0,
          fmt::format("{} at {:g}: {} {}", g.arms[a].name, l, format_estimate(e, c.decimals),
                      c.title)});
    }
    if (any) chart.series.push_back(std::move(s));  // arms without archives stay out of the legend
  }
  return chart;
}

std::string explanation(const Group& g) {
  std::string text =
      "Averages over each level's benchmark window (its start_time to end_time) of the cell's "
      "`kvtier monitor` archive, then mean ± SE over the repeats that had one (Archives). CPU "
      "busy is the share of all cores' time not idle or in iowait; host memory is "
      "mem.util.used (GiB = 2^30 bytes). The whole machine is measured, not only the server.";
  if (has_gpu_metrics(g)) {
    text +=
        " GPU values are NVML's: utilisation averaged, memory and PCIe summed over the GPUs. "
        "PCIe is NVML's throughput from the GPU's side: RX = host→device (e.g. KV blocks "
        "loaded back from the CPU tier), TX = device→host (offload to the CPU); "
        "1 GB = 1e9 bytes.";
  }
  return text;
}

}  // namespace

bool has_system_metrics(const Group& g) {
  for (const auto& arm : g.arms) {
    for (const auto& l : arm.levels) {
      if (l.system.archives > 0) return true;
    }
  }
  return false;
}

bool has_gpu_metrics(const Group& g) {
  for (const auto& arm : g.arms) {
    for (const auto& l : arm.levels) {
      if (l.system.gpu_util_percent || l.system.gpu_mem_used_bytes) return true;
    }
  }
  return false;
}

void system_markdown(std::string& out, const Group& g) {
  if (!has_system_metrics(g)) return;
  const auto rows = table(g);
  out += "### System\n\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (const auto& cell : rows[r]) out += " " + cell + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (size_t i = 0; i < rows[0].size(); ++i) out += "---|";
      out += "\n";
    }
  }
  out += fmt::format("\n{}\n\n", explanation(g));
}

void system_html(std::string& html, const Group& g) {
  if (!has_system_metrics(g)) return;
  html += "<h3>System</h3>\n<div class=\"charts\">\n";
  for (const Column* c : columns(g)) {
    if (c->chart) html += render_svg_chart(system_chart(g, *c));
  }
  html += "</div>\n<div class=\"wide\"><table class=\"system\">\n";
  const auto rows = table(g);
  for (size_t r = 0; r < rows.size(); ++r) {
    html += "<tr>";
    for (const auto& cell : rows[r]) {
      const char* tag = r == 0 ? "th" : "td";
      html += fmt::format("<{0}>{1}</{0}>", tag, escape_xml(cell));
    }
    html += "</tr>\n";
  }
  std::string note = explanation(g);
  for (size_t at = note.find('`'); at != std::string::npos; at = note.find('`')) note.erase(at, 1);
  html += "</table></div>\n<p class=\"note\">" + escape_xml(note) + "</p>\n";
}

}  // namespace kvtier::report
