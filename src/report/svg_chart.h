#pragma once
// Line charts as inline SVG (no scripts, no external files): categories along x (levels or swept
// values, evenly spaced), one line per series with optional error bars, optional horizontal
// reference lines, labelled axes and a legend (<g class="legend">).
#include <optional>
#include <string>
#include <vector>

namespace kvtier::report {

struct ChartPoint {
  double y = 0;
  double error = 0;   // half-width of the error bar; 0 draws none
  std::string label;  // tooltip (<title>)
};

struct ChartSeries {
  std::string name;
  int color = -1;  // palette index; -1: the series' position (keeps an arm's colour across charts)
  // One per category; nullopt leaves a gap.
  std::vector<std::optional<ChartPoint>> points;
};

struct ReferenceLine {
  std::string name;  // in the legend
  double y = 0;
  size_t color_of = 0;  // drawn in this series' colour, dashed
};

struct Chart {
  std::string title;
  std::string x_label, y_label;
  std::vector<std::string> categories;
  std::vector<ChartSeries> series;
  std::vector<ReferenceLine> references;
  bool zero_line = false;  // a %-change chart's "no change" line
  int decimals = 0;        // of tooltips' values
};

std::string render_svg_chart(const Chart& chart);

// The colour of series i (a fixed palette that tells adjacent series apart).
const char* series_color(size_t i);

// Text safe inside XML/HTML elements and attributes.
std::string escape_xml(const std::string& text);

}  // namespace kvtier::report
