#include "report/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/number_format.h"

namespace kvtier::report {
namespace {

constexpr double kWidth = 640, kHeight = 360;
constexpr double kLeft = 72, kRight = 24, kTop = 60, kBottom = 56;
constexpr double kInset = 24;  // keeps the first and last points off the axes
constexpr const char* kBaseColor = "#4c78a8";
constexpr const char* kCandColor = "#f58518";

// The smallest 1, 2 or 5 times a power of ten that is >= v.
double nice_step(double v) {
  if (v <= 0) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= v) return m * magnitude;
  }
  return 10 * magnitude;
}

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_svg_chart(const MetricTable& t, const std::string& baseline_name,
                             const std::string& candidate_name, const std::string& level_name) {
  double top = 0;
  for (const auto& r : t.rows) top = std::max({top, r.baseline, r.candidate});
  const double step = nice_step(top > 0 ? top / 5 : 1);
  const double y_max = std::max(step, std::ceil(top / step) * step);
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  const size_t n = t.rows.size();
  // Levels are evenly spaced categories (5, 25, 50, 100, 250 read better than on a linear axis).
  auto x_of = [&](size_t i) {
    return n <= 1 ? kLeft + plot_w / 2
                  : kLeft + kInset + (plot_w - 2 * kInset) * static_cast<double>(i) / (n - 1);
  };
  auto y_of = [&](double v) { return kTop + plot_h * (1.0 - std::max(v, 0.0) / y_max); };

  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" height="{1}" )"
      R"(role="img" aria-label="{2}" font-family="sans-serif" font-size="12">)"
      "\n<title>{2}</title>\n",
      kWidth, kHeight, escape_xml(t.title));
  svg += fmt::format(R"(<text x="{}" y="22" font-size="14" font-weight="bold">{}</text>)"
                     "\n",
                     kLeft, escape_xml(t.title));
  for (double v = 0; v <= y_max + step / 2; v += step) {
    const double y = y_of(v);
    svg += fmt::format(
        R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#ddd"/>)"
        R"(<text x="{}" y="{:.1f}" text-anchor="end" dominant-baseline="middle">{}</text>)"
        "\n",
        kLeft, y, kWidth - kRight, y, kLeft - 6, y, format_value(v, step < 1 ? 2 : 0));
  }
  svg += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#333"/>)"
                     R"(<line x1="{0}" y1="{2}" x2="{3}" y2="{2}" stroke="#333"/>)"
                     "\n",
                     kLeft, kTop, kTop + plot_h, kWidth - kRight);
  for (size_t i = 0; i < n; ++i) {
    svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{:g}</text>)"
                       "\n",
                       x_of(i), kTop + plot_h + 18, t.rows[i].level);
  }
  svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)"
                     "\n",
                     kLeft + plot_w / 2, kHeight - 10, escape_xml(level_name));
  svg += fmt::format(
      R"svg(<text x="16" y="{:.1f}" text-anchor="middle" transform="rotate(-90 16 {:.1f})">{}</text>)svg"
      "\n",
      kTop + plot_h / 2, kTop + plot_h / 2, escape_xml(t.unit));

  auto series = [&](bool candidate, const char* color, const std::string& name) {
    std::string points;
    std::string marks;
    for (size_t i = 0; i < n; ++i) {
      const double v = candidate ? t.rows[i].candidate : t.rows[i].baseline;
      points += fmt::format("{}{:.1f},{:.1f}", i ? " " : "", x_of(i), y_of(v));
      marks += fmt::format(
          R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"><title>{} at {:g}: {} {}</title></circle>)"
          "\n",
          x_of(i), y_of(v), color, escape_xml(name), t.rows[i].level, format_value(v, t.decimals),
          escape_xml(t.unit));
    }
    return fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)"
                       "\n",
                       color, points) +
           marks;
  };
  svg += series(false, kBaseColor, baseline_name);
  svg += series(true, kCandColor, candidate_name);
  // Legend: one row between the title and the plot.
  const std::string base_label = baseline_name + " (baseline)";
  const double second = kLeft + 18 + 7.0 * static_cast<double>(base_label.size()) + 24;
  svg += fmt::format(
      R"(<rect x="{0}" y="31" width="12" height="12" fill="{1}"/><text x="{2}" y="41">{3}</text>)"
      R"(<rect x="{4}" y="31" width="12" height="12" fill="{5}"/><text x="{6}" y="41">{7}</text>)"
      "\n",
      kLeft, kBaseColor, kLeft + 18, escape_xml(base_label), second, kCandColor, second + 18,
      escape_xml(candidate_name));
  return svg + "</svg>\n";
}

}  // namespace kvtier::report
