// report.html as a browser shows it: headless Chromium loads the page without console messages,
// the DOM it builds has every chart with labelled axes and a legend, and the screenshot is not
// a blank page. Skipped (saying so) where no Chromium is installed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "report/html_page.h"
#include "report/report_files.h"
#include "report_fixtures.h"
#include "system_fixtures.h"

namespace kvtier::report {
namespace {

using testing::TempDir;

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "chrome"}) {
    const std::string probe = fmt::format("command -v {} >/dev/null 2>&1", name);
    if (std::system(probe.c_str()) == 0) return name;
  }
  return "";
}

// Runs Chromium headless on `page` with `mode` ("--dump-dom" or "--screenshot=PATH"); stdout and
// stderr go to files under `dir`. A private profile, no sandbox (containers), a generous timeout
// (CI runs many tests at once on two cores).
int run_chromium(const std::string& chromium, const std::filesystem::path& dir,
                 const std::string& tag, const std::string& mode,
                 const std::filesystem::path& page) {
  const auto profile = dir / ("profile-" + tag);
  std::filesystem::create_directories(profile);
  const std::string cmd = fmt::format(
      "HOME='{0}' timeout -k 10 180 {1} --headless --disable-gpu --no-sandbox "
      "--no-first-run --disable-extensions --user-data-dir='{0}' --window-size=1400,3000 "
      "--enable-logging=stderr --v=0 {2} 'file://{3}' >'{4}' 2>'{5}'",
      profile.string(), chromium, mode, page.string(), (dir / (tag + ".out")).string(),
      (dir / (tag + ".err")).string());
  return std::system(cmd.c_str());
}

TEST(HtmlInBrowser, LoadsCleanlyChartsAreLabelledAndThePageIsNotBlank) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed: the browser check of report.html is skipped";
  }
  TempDir dir("kvtier-report-browser");
  testing::write_folder(dir.path() / "eval", testing::standard_cells());
  // Monitor archives with GPU metrics in the baseline's and the offload arm's cells: the System
  // charts (CPU busy, PCIe each way).
  for (const auto& [arm, repeats] : {std::pair<std::string, int>{"no-offload", 3},
                                     std::pair<std::string, int>{"native-offload", 2}}) {
    for (int r = 1; r <= repeats; ++r) {
      const double x = arm == "no-offload" ? 0 : 1;
      testing::add_cell_archive(dir.path() / "eval", arm, r, [&](size_t i) {
        return testing::LevelLoad{20.0 + 10 * i + r, 10.0 + r, true, 50.0 + 10 * x, 40.0,
                                  0.1 + 2 * x * (i + 1), 0.1 + x * (i + 1)};
      });
    }
  }
  auto r = report_from_folder(dir.path() / "eval", {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_TRUE(write_report_files(*r, dir.path() / "out").is_ok());
  const auto page = std::filesystem::absolute(dir.path() / "out" / "report.html");
  const std::string html = read_all(page);
  // Self-contained: nothing to fetch.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);

  // The DOM as loaded, and the console: any console message fails (the page has no scripts, so
  // one means a parse or load error).
  ASSERT_EQ(run_chromium(chromium, dir.path(), "dom", "--dump-dom", page), 0)
      << read_all(dir.path() / "dom.err");
  const std::string dom = read_all(dir.path() / "dom.out");
  const std::string log = read_all(dir.path() / "dom.err");
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.find(":CONSOLE"), std::string::npos) << line;
  }
  ASSERT_NE(dom.find("</html>"), std::string::npos) << "no DOM dumped:\n" << log;

  size_t charts = 0;
  for (size_t at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) {
    const std::string svg = dom.substr(at, dom.find("</svg>", at) - at);
    SCOPED_TRACE(svg.substr(0, 300));
    ++charts;
    const std::regex x_label(R"(<text class="axis-label x-label"[^>]*>[^<]+</text>)");
    const std::regex y_label(R"(<text class="axis-label y-label"[^>]*>[^<]+</text>)");
    const std::regex legend(
        R"(<g class="legend">\s*)"
        R"((<(rect|line)[^>]*>(</(rect|line)>)?<text[^>]*>[^<]+</text>\s*)+</g>)");
    EXPECT_TRUE(std::regex_search(svg, x_label));
    EXPECT_TRUE(std::regex_search(svg, y_label));
    EXPECT_TRUE(std::regex_search(svg, legend));
  }
  // 7 metrics x (values, % change) + the swept flag x (tok/s, TTFT) + System (CPU busy, PCIe
  // host->device, PCIe device->host).
  EXPECT_EQ(charts, 19u);

  // The screenshot against a blank page's at the same size.
  const auto blank = std::filesystem::absolute(dir.path() / "blank.html");
  std::ofstream(blank) << "<!DOCTYPE html><html><body></body></html>";
  const auto shot = dir.path() / "report.png";
  const auto blank_shot = dir.path() / "blank.png";
  ASSERT_EQ(run_chromium(chromium, dir.path(), "shot", "--screenshot=" + shot.string(), page), 0)
      << read_all(dir.path() / "shot.err");
  ASSERT_EQ(
      run_chromium(chromium, dir.path(), "blank", "--screenshot=" + blank_shot.string(), blank), 0)
      << read_all(dir.path() / "blank.err");
  const std::string png = read_all(shot);
  const std::string blank_png = read_all(blank_shot);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(png.size(), 3 * blank_png.size())
      << "report " << png.size() << " bytes, blank page " << blank_png.size();
  const std::set<char> distinct(png.begin(), png.end());
  EXPECT_GT(distinct.size(), 250u);  // compressed pixels of a busy page use every byte value
}

}  // namespace
}  // namespace kvtier::report
