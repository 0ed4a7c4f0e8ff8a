// System metrics in `kvtier report DIR`: monitor archives with known loads per level, written
// through the monitor module's writer beside each cell's benchmarks.json, read back per level
// window and shown as the "System" table and charts.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "report/html_page.h"
#include "report/markdown.h"
#include "report/report_files.h"
#include "report_fixtures.h"
#include "system_fixtures.h"

namespace kvtier::report {
namespace {

using testing::add_cell_archive;
using testing::cell_dir;
using testing::LevelLoad;
using testing::standard_cells;
using testing::TempDir;
using testing::write_file;
using testing::write_folder;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Repeats r = 1, 2, 3 of the baseline: v + d (r - 2), mean v, SE d / sqrt(3). The offload arm's
// r = 1, 2: v -+ d, mean v, SE d.
LevelLoad baseline_load(size_t i, int r) {
  return {20.0 + 20 * i + 2 * (r - 2), 10.0 + i + 0.5 * (r - 2), true, 50.0 + 10 * i + 3 * (r - 2),
          40.0 + 2 * i, 0.1 * (i + 1), 0.05 * (i + 1)};
}
LevelLoad offload_load(size_t i, int r) {
  const double s = r == 1 ? -1 : 1;
  return {30.0 + 20 * i + 3 * s,  12.0 + i + s,           true, 65.0 + 5 * s, 50.0,
          2.0 * (i + 1) + 0.5 * s, 1.0 * (i + 1) + 0.25 * s};
}
LevelLoad sweep_load(size_t i, int r) {
  return {60.0 + 10 * i + (r == 2 ? 2 : -2), 20.0, true, 80.0, 60.0, 1.0, 1.0};
}

// The standard folder with archives: every baseline and offload cell; of the 4000-block arm, r1's
// archive is garbage, r2's ends after the first level and r3's is whole; the 1000-block arm has
// none.
void write_folder_with_archives(const std::filesystem::path& out) {
  write_folder(out, standard_cells());
  for (int r = 1; r <= 3; ++r) {
    add_cell_archive(out, "no-offload", r, [r](size_t i) { return baseline_load(i, r); });
  }
  for (int r = 1; r <= 2; ++r) {
    add_cell_archive(out, "native-offload", r, [r](size_t i) { return offload_load(i, r); });
  }
  const std::string sweep = "native-offload@num_cpu_blocks=4000";
  for (const char* suffix : {".0", ".meta", ".index"}) {
    write_file(cell_dir(out, sweep, 1) / (std::string("monitor") + suffix), "not an archive\n");
  }
  add_cell_archive(out, sweep, 2, [](size_t i) { return sweep_load(i, 2); }, 1);
  add_cell_archive(out, sweep, 3, [](size_t i) { return sweep_load(i, 3); });
}

TEST(SystemSection, PerLevelWindowsMeanAndSeOverRepeats) {
  TempDir dir("kvtier-report-system");
  write_folder_with_archives(dir.path());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Group& g = r->groups[0];

  const SystemMetrics& b5 = g.arms[0].at(5)->system;
  EXPECT_EQ(b5.archives, 3);
  ASSERT_TRUE(b5.cpu_busy_percent && b5.mem_used_bytes && b5.gpu_util_percent &&
              b5.gpu_mem_used_bytes && b5.pcie_rx_bytes_per_s && b5.pcie_tx_bytes_per_s);
  EXPECT_NEAR(b5.cpu_busy_percent->mean, 20, 1e-6);
  EXPECT_NEAR(b5.cpu_busy_percent->se, 2 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(b5.mem_used_bytes->mean, 10 * kGiB, 1024);
  EXPECT_NEAR(b5.mem_used_bytes->se, 0.5 / std::sqrt(3.0) * kGiB, 1024);
  EXPECT_NEAR(b5.gpu_util_percent->mean, 50, 1e-6);
  EXPECT_NEAR(b5.gpu_util_percent->se, 3 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(b5.gpu_mem_used_bytes->mean, 40 * kGiB, 1024);
  EXPECT_NEAR(b5.pcie_rx_bytes_per_s->mean, 0.1e9, 1);
  EXPECT_NEAR(b5.pcie_tx_bytes_per_s->mean, 0.05e9, 1);

  // The second window of the same archives.
  const SystemMetrics& b25 = g.arms[0].at(25)->system;
  EXPECT_NEAR(b25.cpu_busy_percent->mean, 40, 1e-6);
  EXPECT_NEAR(b25.mem_used_bytes->mean, 11 * kGiB, 1024);
  EXPECT_NEAR(b25.gpu_util_percent->mean, 60, 1e-6);
  EXPECT_NEAR(b25.pcie_rx_bytes_per_s->mean, 0.2e9, 1);

  // Two repeats (r3 failed): SE d.
  const SystemMetrics& o25 = g.arms[1].at(25)->system;
  EXPECT_EQ(o25.archives, 2);
  EXPECT_NEAR(o25.cpu_busy_percent->mean, 50, 1e-6);
  EXPECT_NEAR(o25.cpu_busy_percent->se, 3, 1e-6);
  EXPECT_NEAR(o25.pcie_rx_bytes_per_s->mean, 4e9, 1);
  EXPECT_NEAR(o25.pcie_rx_bytes_per_s->se, 0.5e9, 1);
  EXPECT_NEAR(o25.pcie_tx_bytes_per_s->mean, 2e9, 1);
  EXPECT_NEAR(o25.pcie_tx_bytes_per_s->se, 0.25e9, 1);

  // Only the repeats whose archive covers the level count; a garbage archive is none.
  const Arm& sweep = g.arms[2];
  ASSERT_EQ(sweep.name, "native-offload@num_cpu_blocks=4000");
  EXPECT_EQ(sweep.at(5)->system.archives, 2);
  EXPECT_NEAR(sweep.at(5)->system.cpu_busy_percent->mean, 60, 1e-6);
  EXPECT_NEAR(sweep.at(5)->system.cpu_busy_percent->se, 2, 1e-6);
  EXPECT_EQ(sweep.at(25)->system.archives, 1);
  EXPECT_NEAR(sweep.at(25)->system.cpu_busy_percent->mean, 68, 1e-6);
  EXPECT_FALSE(sweep.at(25)->system.cpu_busy_percent->has_bound());
  EXPECT_EQ(g.arms[3].at(5)->system.archives, 0);
  EXPECT_FALSE(g.arms[3].at(5)->system.cpu_busy_percent.has_value());

  // Warnings name the cell; the report is still made.
  ASSERT_EQ(r->warnings.size(), 2u) << ::testing::PrintToString(r->warnings);
  EXPECT_EQ(r->warnings[0].rfind("Qwen3-0.6B/seed/native-offload@num_cpu_blocks=4000/r1: monitor "
                                 "archive unreadable",
                                 0),
            0u)
      << r->warnings[0];
  EXPECT_EQ(r->warnings[1].rfind(
                "Qwen3-0.6B/seed/native-offload@num_cpu_blocks=4000/r2: no system metrics at "
                "level 25 (",
                0),
            0u)
      << r->warnings[1];
}

TEST(SystemSection, TableInMarkdownAndHtmlWithCharts) {
  TempDir dir("kvtier-report-system-table");
  write_folder_with_archives(dir.path());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const std::string md = render_markdown(*r);
  ASSERT_NE(md.find("### System\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| Arm | Concurrency | Archives | CPU busy % | Host memory used (GiB) | GPU "
                    "util % | GPU memory used (GiB) | PCIe host→device GB/s (RX) | PCIe "
                    "device→host GB/s (TX) |\n"),
            std::string::npos)
      << md;
  for (const char* row : {
           "| no-offload (baseline) | 5 | 3 | 20.0 ± 1.2 | 10.00 ± 0.29 | 50.0 ± 1.7 | "
           "40.00 ± 0.00 | 0.10 ± 0.00 | 0.05 ± 0.00 |",
           "| no-offload (baseline) | 25 | 3 | 40.0 ± 1.2 | 11.00 ± 0.29 | 60.0 ± 1.7 | "
           "42.00 ± 0.00 | 0.20 ± 0.00 | 0.10 ± 0.00 |",
           "| native-offload | 25 | 2 | 50.0 ± 3.0 | 13.00 ± 1.00 | 65.0 ± 5.0 | "
           "50.00 ± 0.00 | 4.00 ± 0.50 | 2.00 ± 0.25 |",
           "| native-offload@num_cpu_blocks=4000 | 25 | 1 | 68.0 | 20.00 | 80.0 | 60.00 | 1.00 | "
           "1.00 |",
           "| native-offload@num_cpu_blocks=1000 | 5 | 0 | n/a | n/a | n/a | n/a | n/a | n/a |",
       }) {
    EXPECT_NE(md.find(row), std::string::npos) << "missing: " << row << "\n" << md;
  }
  EXPECT_NE(md.find("> **WARNING**: Qwen3-0.6B/seed/native-offload@num_cpu_blocks=4000/r1"),
            std::string::npos);

  const std::string html = render_html(*r);
  const size_t at = html.find("<h3>System</h3>");
  ASSERT_NE(at, std::string::npos);
  const std::string section = html.substr(at, html.find("<p class=\"note\">", at) - at);
  EXPECT_EQ(count(section, "<svg"), 3u);  // CPU busy, PCIe each way
  // Arms with a reading are in the legends; the 1000-block arm, without archives, is not.
  EXPECT_EQ(count(section, "<g class=\"legend\">"), 3u);
  EXPECT_EQ(count(section, "native-offload@num_cpu_blocks=4000</text>"), 3u) << section;
  EXPECT_EQ(section.find("native-offload@num_cpu_blocks=1000</text>"), std::string::npos);
  EXPECT_NE(section.find("PCIe host→device (GB/s, NVML RX, mean ± SE)"), std::string::npos);
  EXPECT_NE(section.find("PCIe device→host (GB/s, NVML TX, mean ± SE)"), std::string::npos);
  EXPECT_NE(section.find("<td>native-offload</td><td>25</td><td>2</td><td>50.0 ± 3.0</td>"),
            std::string::npos)
      << section;
}

TEST(SystemSection, NoGpuMetricsNoGpuColumns) {
  TempDir dir("kvtier-report-system-cpu");
  write_folder(dir.path(), standard_cells());
  for (int r = 1; r <= 3; ++r) {
    add_cell_archive(dir.path(), "no-offload", r, [r](size_t i) {
      return LevelLoad{10.0 * (i + 1) + r, 4.0 + r};
    });
  }
  auto rep = report_from_folder(dir.path(), {});
  ASSERT_TRUE(rep.has_value()) << rep.error().message();
  EXPECT_TRUE(rep->warnings.empty()) << ::testing::PrintToString(rep->warnings);
  const std::string md = render_markdown(*rep);
  EXPECT_NE(md.find("| Arm | Concurrency | Archives | CPU busy % | Host memory used (GiB) |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| no-offload (baseline) | 25 | 3 | 22.0 ± 0.6 | 6.00 ± 0.58 |\n"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("GPU util"), std::string::npos);
  const std::string html = render_html(*rep);
  const size_t at = html.find("<h3>System</h3>");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(count(html.substr(at, html.find("</table>", at) - at), "<svg"), 1u);
  EXPECT_EQ(html.find("PCIe"), std::string::npos);
  EXPECT_EQ(html.find("GPU util"), std::string::npos);
}

TEST(SystemSection, WindowsTheArchiveMissesAreWarningsNamingTheCell) {
  TempDir dir("kvtier-report-system-missed");
  write_folder(dir.path(), standard_cells());
  add_cell_archive(dir.path(), "no-offload", 1, [](size_t i) { return baseline_load(i, 1); });
  add_cell_archive(dir.path(), "no-offload", 2, [](size_t i) { return baseline_load(i, 2); });
  // r1: benchmarks an hour later than anything the archive recorded.
  {
    const auto path = cell_dir(dir.path(), "no-offload", 1) / "benchmarks.json";
    std::ifstream in(path);
    nlohmann::json j = nlohmann::json::parse(in);
    for (auto& b : j["benchmarks"]) {
      b["start_time"] = b["start_time"].get<double>() + 3600;
      b["end_time"] = b["end_time"].get<double>() + 3600;
    }
    write_file(path, j.dump());
  }
  // r2: no times at all.
  {
    const auto path = cell_dir(dir.path(), "no-offload", 2) / "benchmarks.json";
    std::ifstream in(path);
    nlohmann::json j = nlohmann::json::parse(in);
    for (auto& b : j["benchmarks"]) {
      b.erase("start_time");
      b.erase("end_time");
    }
    write_file(path, j.dump());
  }
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->warnings.size(), 2u) << ::testing::PrintToString(r->warnings);
  EXPECT_EQ(r->warnings[0].rfind("Qwen3-0.6B/seed/no-offload/r1: no system metrics at level 5, 25 "
                                 "(archive ",
                                 0),
            0u)
      << r->warnings[0];
  EXPECT_NE(r->warnings[0].find("no system samples between"), std::string::npos);
  EXPECT_EQ(r->warnings[1],
            "Qwen3-0.6B/seed/no-offload/r2: no system metrics at level 5, 25 (benchmarks.json has "
            "no start_time/end_time)");
  EXPECT_EQ(r->groups[0].arms[0].at(5)->system.archives, 0);
  EXPECT_EQ(render_markdown(*r).find("### System"), std::string::npos);
}

TEST(SystemSection, NoArchivesNoSystemSection) {
  TempDir dir("kvtier-report-system-none");
  write_folder(dir.path(), standard_cells());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(render_markdown(*r).find("### System"), std::string::npos);
  EXPECT_EQ(render_html(*r).find("<h3>System</h3>"), std::string::npos);
  for (const auto& arm : r->groups[0].arms) {
    for (const auto& l : arm.levels) EXPECT_EQ(l.system.archives, 0);
  }
}

}  // namespace
}  // namespace kvtier::report
