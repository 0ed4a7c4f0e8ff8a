// `kvtier report DIR` on a synthetic eval folder written in the documented layout
// (docs/report.md, "The eval folder").
#include <gtest/gtest.h>

#include "report/html_page.h"
#include "report/markdown.h"
#include "report/report_files.h"
#include "report/sweeps.h"
#include "report_fixtures.h"

namespace kvtier::report {
namespace {

using testing::CellSpec;
using testing::RunSetup;
using testing::standard_cells;
using testing::TempDir;
using testing::write_file;
using testing::write_folder;

TEST(EvalFolder, ReadsCellsArmsAndFailures) {
  TempDir dir("kvtier-eval-folder");
  write_folder(dir.path(), standard_cells());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->title, "offload-eval");
  ASSERT_EQ(r->groups.size(), 1u);
  const Group& g = r->groups[0];
  EXPECT_EQ(g.title(), "Qwen3-0.6B / seed");
  ASSERT_EQ(g.arms.size(), 4u);
  EXPECT_EQ(g.arms[0].name, "no-offload");
  EXPECT_EQ(g.arms[0].runs.size(), 3u);
  EXPECT_EQ(g.arms[1].name, "native-offload");
  EXPECT_EQ(g.arms[1].runs.size(), 2u);  // r3 failed
  EXPECT_EQ(g.arms[3].sweep_key, "num_cpu_blocks");
  EXPECT_EQ(g.arms[3].sweep_value, "1000");
  EXPECT_EQ(g.levels, (std::vector<double>{5, 25}));
  // Means over repeats: 640 x (0.99, 1.0, 1.01) for the baseline at 5.
  EXPECT_NEAR(g.arms[0].at(5)->metrics[0].mean, 640, 1e-9);
  EXPECT_NEAR(g.arms[0].at(5)->metrics[0].se, 6.4 / std::sqrt(3.0), 1e-9);

  // The verdict names the effect and every cell that has no results.
  std::vector<std::string> lines;
  for (const auto& v : g.verdict) lines.push_back(v.text);
  ASSERT_EQ(lines.size(), 6u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].rfind("native-offload: pays at every concurrency (5: +29.", 0), 0u)
      << lines[0];
  EXPECT_EQ(g.verdict[0].effect, Effect::kGain);
  // native-offload kept 2 of its 3 repeats.
  EXPECT_EQ(lines[3].rfind("few repeats: some levels have only 2 runs per arm", 0), 0u);
  EXPECT_EQ(lines[4],
            "failed: native-offload: Qwen3-0.6B/seed/native-offload/r3: failed: server exited "
            "with code 1 before /health");
  EXPECT_EQ(lines[5].rfind("failed: native-offload@num_cpu_blocks=1000: "
                           "Qwen3-0.6B/seed/native-offload@num_cpu_blocks=1000/r2: not run (no ",
                           0),
            0u)
      << lines[5];
}

TEST(EvalFolder, TierCountersPerArm) {
  TempDir dir("kvtier-eval-tiers");
  write_folder(dir.path(), standard_cells());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Group& g = r->groups[0];
  ASSERT_TRUE(g.arms[0].tiers.has_value());
  EXPECT_DOUBLE_EQ(g.arms[0].tiers->gpu_hit_percent.mean, 60);
  EXPECT_DOUBLE_EQ(g.arms[0].tiers->computed_percent.mean, 40);
  EXPECT_FALSE(std::isfinite(g.arms[0].tiers->gbps_to_cpu.mean));  // nothing moved
  ASSERT_TRUE(g.arms[1].tiers.has_value());
  const TierCounters& t = *g.arms[1].tiers;
  EXPECT_EQ(t.cells, 2);
  EXPECT_DOUBLE_EQ(t.gpu_hit_percent.mean, 60);
  EXPECT_DOUBLE_EQ(t.cpu_hit_percent.mean, 30);
  EXPECT_DOUBLE_EQ(t.computed_percent.mean, 10);
  EXPECT_DOUBLE_EQ(t.preemptions.mean, 2);
  EXPECT_DOUBLE_EQ(t.gb_to_cpu.mean, 2);
  EXPECT_DOUBLE_EQ(t.gbps_to_cpu.mean, 20);
  EXPECT_DOUBLE_EQ(t.gb_to_gpu.mean, 1);
  EXPECT_DOUBLE_EQ(t.gbps_to_gpu.mean, 20);
  EXPECT_FALSE(g.arms[2].tiers.has_value());  // its cells recorded no counters
  const std::string md = render_markdown(*r);
  EXPECT_NE(md.find("| native-offload | 2 | 60.0 ± 0.0 | 30.0 ± 0.0 | 10.0 ± 0.0 | 2 ± 0 | "
                    "2.00 ± 0.00 | 20.0 ± 0.0 | 1.00 ± 0.00 | 20.0 ± 0.0 |"),
            std::string::npos)
      << md;
}

TEST(EvalFolder, SweepsAreOrderedByValueAndCharted) {
  TempDir dir("kvtier-eval-sweep");
  write_folder(dir.path(), standard_cells());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Group& g = r->groups[0];
  const auto sweeps = find_sweeps(g);
  ASSERT_EQ(sweeps.size(), 1u);
  EXPECT_EQ(sweeps[0].config, "native-offload");
  EXPECT_EQ(sweeps[0].key, "num_cpu_blocks");
  ASSERT_EQ(sweeps[0].arms.size(), 2u);
  EXPECT_EQ(g.arms[sweeps[0].arms[0]].sweep_value, "1000");
  EXPECT_EQ(g.arms[sweeps[0].arms[1]].sweep_value, "4000");
  const std::string html = render_html(*r);
  const size_t chart = html.find("<title>output tok/s against num_cpu_blocks (native-offload)");
  ASSERT_NE(chart, std::string::npos);
  const std::string svg = html.substr(chart, html.find("</svg>", chart) - chart);
  EXPECT_NE(svg.find(">concurrency 5</text>"), std::string::npos);  // one line per level
  EXPECT_NE(svg.find(">concurrency 25</text>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"reference\""), std::string::npos);  // the baseline
  EXPECT_NE(svg.find(">no-offload at 25 (baseline)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">num_cpu_blocks</text>"), std::string::npos);  // x axis label
  const std::string md = render_markdown(*r);
  EXPECT_NE(md.find("### output tok/s against num_cpu_blocks (native-offload)"), std::string::npos);
  EXPECT_NE(md.find("| 4000 | 800.0 ± 4.6 | 2,375.0 ± 13.7 |"), std::string::npos) << md;
}

TEST(EvalFolder, TestConfigurationFromCellsAndExperiment) {
  TempDir dir("kvtier-eval-config");
  write_folder(dir.path(), standard_cells());
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const std::string md = render_markdown(*r);
  for (const char* expected : {
           "## Test Configuration",
           "- **Profile**: concurrent 5, 25",
           "- **Model**: Qwen/Qwen3-0.6B",
           "   kvtier serve Qwen/Qwen3-0.6B --port 40001 --kv-transfer-config "
           "'{\"kv_connector\":\"OffloadingConnector\",\"kv_role\":\"kv_both\"}'",
           "kvtier bench --target http://127.0.0.1:40001 --rate-type concurrent --rate 5,25",
           "- GPU: NVIDIA H100 80GB HBM3, 81559 MiB, driver 580.65",
           "- CPU: Intel Xeon (16 cores)",
           "- Memory: 128.0 GiB",
           "- kvtier: kvtier 0.9.0 (cpu)",
           "- Date: 2026-12-07 04:01 UTC to 2026-12-07 04:21 UTC",
           "name: offload-eval\nrepeats: 3\n",
       }) {
    EXPECT_NE(md.find(expected), std::string::npos) << expected << "\n" << md;
  }
  EXPECT_LT(md.find("## Verdict"), md.find("## Benchmark Results"));
}

TEST(EvalFolder, MismatchedCellIsRefusedNamingIt) {
  TempDir dir("kvtier-eval-mismatch");
  auto cells = standard_cells();
  cells[1].setup.data = R"({"prompt_tokens":512,"output_tokens":128})";
  write_folder(dir.path(), cells);
  auto r = report_from_folder(dir.path(), {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("Qwen3-0.6B/seed/no-offload/r1 and "
                                     "Qwen3-0.6B/seed/native-offload/r1 were not run the same way"),
            std::string::npos)
      << r.error().message();
  auto forced = report_from_folder(dir.path(), {/*force=*/true});
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ(forced->warnings.size(), 1u);
}

TEST(EvalFolder, BadPlansNameTheProblem) {
  TempDir dir("kvtier-eval-bad");
  auto missing = report_from_folder(dir.path(), {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("plan.json: cannot open"), std::string::npos);

  write_file(dir.path() / "plan.json", R"({"baseline": "a", "cells": [{"id": "m/w/../r1",
      "model": "m", "workload": "w", "config": "a", "arm": "..", "repeat": 1}]})");
  auto traversal = report_from_folder(dir.path(), {});
  ASSERT_FALSE(traversal.has_value());
  EXPECT_NE(traversal.error().message().find("cells[0]: arm \"..\" is not a folder name"),
            std::string::npos)
      << traversal.error().message();

  write_file(dir.path() / "plan.json", R"({"baseline": "z", "cells": [{"id": "m/w/a/r1",
      "model": "m", "workload": "w", "config": "a", "arm": "a", "repeat": 1}]})");
  auto no_baseline = report_from_folder(dir.path(), {});
  ASSERT_FALSE(no_baseline.has_value());
  EXPECT_NE(no_baseline.error().message().find("the baseline \"z\" has no cell for m / w"),
            std::string::npos)
      << no_baseline.error().message();

  write_file(dir.path() / "plan.json", R"({"baseline": "a", "cells": [{"id": "m/w/a/r1",
      "model": "m", "workload": "w", "config": "a", "arm": "a"}]})");
  auto no_repeat = report_from_folder(dir.path(), {});
  ASSERT_FALSE(no_repeat.has_value());
  EXPECT_NE(no_repeat.error().message().find("cells[0]: \"repeat\" missing"), std::string::npos);
}

TEST(EvalFolder, AllCellsOfAnArmFailed) {
  TempDir dir("kvtier-eval-allfailed");
  write_folder(dir.path(), {{"no-offload", 1},
                            {"no-offload", 2},
                            {"native-offload", 1, "failed"},
                            {"native-offload", 2, "running"}});
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const auto& v = r->groups[0].verdict;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].text, "native-offload: no results to compare (every cell failed or none ran)");
  EXPECT_EQ(v[2].text,
            "failed: native-offload: Qwen3-0.6B/seed/native-offload/r2: did not finish (status "
            "\"running\")");
  // Rendering an arm without results must not fail.
  EXPECT_NE(render_html(*r).find("native-offload"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::report
