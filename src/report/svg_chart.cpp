#include "report/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "report/number_format.h"

namespace kvtier::report {
namespace {

constexpr double kWidth = 640, kHeight = 380;
constexpr double kLeft = 76, kRight = 24, kBottom = 56;
constexpr double kInset = 24;  // keeps the first and last points off the axes
constexpr double kLegendRow = 18;
constexpr const char* kPalette[] = {"#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
                                    "#b279a2", "#eeca3b", "#9d755d", "#bab0ac", "#ff9da6"};

// The smallest 1, 2 or 5 times a power of ten that is >= v.
double nice_step(double v) {
  if (v <= 0) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= v) return m * magnitude;
  }
  return 10 * magnitude;
}

const char* series_color_at(size_t i);

const char* color_of(const Chart& c, size_t i) {
  const int pick = c.series[i].color;
  return series_color_at(pick >= 0 ? static_cast<size_t>(pick) : i);
}

struct LegendEntry {
  std::string name;
  const char* color;
  bool dashed;
};

}  // namespace

const char* series_color(size_t i) {
  return series_color_at(i);
}

namespace {
const char* series_color_at(size_t i) {
  return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
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

std::string render_svg_chart(const Chart& c) {
  // Legend entries, laid out in rows under the title (about 7 px per character).
  std::vector<LegendEntry> legend;
  for (size_t i = 0; i < c.series.size(); ++i) {
    legend.push_back({c.series[i].name, color_of(c, i), false});
  }
  for (const auto& r : c.references) legend.push_back({r.name, series_color(r.color_of), true});
  std::vector<std::pair<double, double>> legend_at;  // x, y of each entry
  double lx = kLeft, ly = 36;
  for (const auto& e : legend) {
    const double w = 22 + 7.0 * static_cast<double>(e.name.size()) + 18;
    if (lx + w > kWidth - kRight && lx > kLeft) {
      lx = kLeft;
      ly += kLegendRow;
    }
    legend_at.emplace_back(lx, ly);
    lx += w;
  }
  const double top = ly + 20;
  const double height = std::max(kHeight, top + 220 + kBottom);

  double lo = 0, hi = 0;
  for (const auto& s : c.series) {
    for (const auto& p : s.points) {
      if (!p || !std::isfinite(p->y)) continue;
      const double e = std::isfinite(p->error) ? p->error : 0;
      lo = std::min(lo, p->y - e);
      hi = std::max(hi, p->y + e);
    }
  }
  for (const auto& r : c.references) {
    if (std::isfinite(r.y)) {
      lo = std::min(lo, r.y);
      hi = std::max(hi, r.y);
    }
  }
  const double step = nice_step(hi - lo > 0 ? (hi - lo) / 5 : 1);
  const double y_min = std::floor(lo / step) * step;
  const double y_max = std::max(y_min + step, std::ceil(hi / step) * step);
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = height - top - kBottom;
  const size_t n = c.categories.size();
  auto x_of = [&](size_t i) {
    return n <= 1 ? kLeft + plot_w / 2
                  : kLeft + kInset + (plot_w - 2 * kInset) * static_cast<double>(i) / (n - 1);
  };
  auto y_of = [&](double v) {
    return top + plot_h * (1.0 - (std::clamp(v, y_min, y_max) - y_min) / (y_max - y_min));
  };

  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {0} {1}" )"
      R"(width="{0}" height="{1}" role="img" aria-label="{2}" font-family="sans-serif" )"
      R"(font-size="12">)"
      "\n<title>{2}</title>\n",
      kWidth, height, escape_xml(c.title));
  svg += fmt::format(R"(<text x="{}" y="20" font-size="14" font-weight="bold">{}</text>)"
                     "\n",
                     kLeft, escape_xml(c.title));
  svg += "<g class=\"grid\">\n";
  const int tick_decimals = step < 1 ? (step < 0.1 ? 2 : 1) : 0;
  for (double v = y_min; v <= y_max + step / 2; v += step) {
    const double y = y_of(v);
    svg += fmt::format(
        R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#ddd"/>)"
        R"(<text x="{}" y="{:.1f}" text-anchor="end" dominant-baseline="middle">{}</text>)"
        "\n",
        kLeft, y, kWidth - kRight, y, kLeft - 6, y, format_value(v, tick_decimals));
  }
  svg += "</g>\n";
  svg += fmt::format(R"(<g class="axes"><line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#333"/>)"
                     R"(<line x1="{0}" y1="{2}" x2="{3}" y2="{2}" stroke="#333"/>)"
                     "\n",
                     kLeft, top, top + plot_h, kWidth - kRight);
  for (size_t i = 0; i < n; ++i) {
    svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)"
                       "\n",
                       x_of(i), top + plot_h + 18, escape_xml(c.categories[i]));
  }
  svg += "</g>\n";
  svg += fmt::format(
      R"(<text class="axis-label x-label" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)"
      "\n",
      kLeft + plot_w / 2, height - 12, escape_xml(c.x_label));
  svg += fmt::format(
      R"svg(<text class="axis-label y-label" x="16" y="{0:.1f}" text-anchor="middle" )svg"
      R"svg(transform="rotate(-90 16 {0:.1f})">{1}</text>)svg"
      "\n",
      top + plot_h / 2, escape_xml(c.y_label));
  if (c.zero_line && y_min < 0 && y_max > 0) {
    svg += fmt::format(R"(<line class="zero" x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" )"
                       R"(stroke="#333" stroke-width="1.5"/>)"
                       "\n",
                       kLeft, y_of(0), kWidth - kRight, y_of(0));
  }
  for (const auto& r : c.references) {
    if (!std::isfinite(r.y)) continue;
    svg += fmt::format(
        R"(<line class="reference" x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="{}" )"
        R"(stroke-width="1.5" stroke-dasharray="6 4"><title>{}: {}</title></line>)"
        "\n",
        kLeft, y_of(r.y), kWidth - kRight, y_of(r.y), series_color(r.color_of), escape_xml(r.name),
        format_value(r.y, c.decimals));
  }
  for (size_t si = 0; si < c.series.size(); ++si) {
    const auto& s = c.series[si];
    const char* color = color_of(c, si);
    std::string points, marks;
    for (size_t i = 0; i < s.points.size() && i < n; ++i) {
      const auto& p = s.points[i];
      if (!p || !std::isfinite(p->y)) continue;
      const double x = x_of(i), y = y_of(p->y);
      points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", x, y);
      if (p->error > 0 && std::isfinite(p->error)) {
        const double y0 = y_of(p->y - p->error), y1 = y_of(p->y + p->error);
        marks += fmt::format(
            R"(<path class="error-bar" d="M{0:.1f} {1:.1f}V{2:.1f}M{3:.1f} {1:.1f}H{4:.1f})"
            R"(M{3:.1f} {2:.1f}H{4:.1f}" stroke="{5}" fill="none"/>)"
            "\n",
            x, y0, y1, x - 4, x + 4, color);
      }
      marks += fmt::format(
          R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"><title>{}</title></circle>)"
          "\n",
          x, y, color, escape_xml(p->label));
    }
    svg += fmt::format(R"(<g class="series"><polyline fill="none" stroke="{}" stroke-width="2" )"
                       R"(points="{}"/>)"
                       "\n{}</g>\n",
                       color, points, marks);
  }
  svg += "<g class=\"legend\">\n";
  for (size_t i = 0; i < legend.size(); ++i) {
    const auto [x, y] = legend_at[i];
    const auto& e = legend[i];
    if (e.dashed) {
      svg += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" )"
                         R"(stroke-dasharray="4 3"/>)",
                         x, y - 4, x + 16, y - 4, e.color);
    } else {
      svg += fmt::format(R"(<rect x="{}" y="{}" width="12" height="12" fill="{}"/>)", x, y - 10,
                         e.color);
    }
    svg += fmt::format(R"(<text x="{}" y="{}">{}</text>)"
                       "\n",
                       x + 20, y, escape_xml(e.name));
  }
  svg += "</g>\n";
  return svg + "</svg>\n";
}

}  // namespace kvtier::report
