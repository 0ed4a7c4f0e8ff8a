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

using nlohmann::json;
using testing::Level;
using testing::results_file;
using testing::RunSetup;
using testing::scaled;
using testing::TempDir;
using testing::write_file;

const Level kLow = {5, 5.0, 640, 1.0, 1.0, 65, 64, 7.5, 7.3};
const Level kHigh = {25, 14.0, 1900, 1.7, 1.7, 105, 100, 12.4, 12.2};

struct CellSpec {
  std::string arm;
  int repeat;
  std::string status = "complete";  // "complete", "failed", "running", "" (no cell.json)
  double throughput = 1.0;          // factor on both levels
  json metrics_delta = nullptr;
  RunSetup setup = {};
};

json delta(double queries, double gpu_hits, double cpu_hits, double bytes_down, double seconds) {
  return {{"prompt_tokens", queries},
          {"generation_tokens", 1000},
          {"prefix_cache_queries", queries},
          {"prefix_cache_hits", gpu_hits},
          {"external_prefix_cache_queries", queries - gpu_hits},
          {"external_prefix_cache_hits", cpu_hits},
          {"num_preemptions", 2},
          {"kv_offload_bytes", {{"GPU_to_CPU", bytes_down}, {"CPU_to_GPU", bytes_down / 2}}},
          {"kv_offload_seconds", {{"GPU_to_CPU", seconds}, {"CPU_to_GPU", seconds / 2}}}};
}

// Writes OUT/plan.json, experiment.yaml and each cell's cell.json + benchmarks.json.
void write_folder(const std::filesystem::path& out, const std::vector<CellSpec>& cells) {
  json plan = {{"name", "offload-eval"},
               {"baseline", "no-offload"},
               {"created_at", "2026-12-07T04:00:00Z"},
               {"cells", json::array()}};
  int order = 0;
  for (const auto& c : cells) {
    const std::string config = c.arm.substr(0, c.arm.find('@'));
    json sweep = nullptr;
    if (c.arm.find('@') != std::string::npos) {
      const std::string kv = c.arm.substr(c.arm.find('@') + 1);
      sweep = {{"key", kv.substr(0, kv.find('='))},
               {"value", std::stoi(kv.substr(kv.find('=') + 1))}};
    }
    json entry = {{"id", fmt::format("Qwen3-0.6B/seed/{}/r{}", c.arm, c.repeat)},
                  {"model", "Qwen3-0.6B"},
                  {"workload", "seed"},
                  {"config", config},
                  {"arm", c.arm},
                  {"sweep", sweep},
                  {"repeat", c.repeat},
                  {"order", order++}};
    plan["cells"].push_back(entry);
    if (c.status.empty()) continue;
    const auto dir = out / "cells" / "Qwen3-0.6B" / "seed" / c.arm / fmt::format("r{}", c.repeat);
    json cell = entry;
    cell["status"] = c.status;
    cell["started_at"] = 1796616000.0 + order * 100;  // 2026-12-07 04:00 UTC onwards
    cell["finished_at"] = 1796616000.0 + order * 100 + 90;
    cell["target"] = "http://127.0.0.1:40001";
    std::vector<std::string> serve = {"kvtier", "serve", "Qwen/Qwen3-0.6B", "--port", "40001"};
    if (config == "native-offload") {
      serve.push_back("--kv-transfer-config");
      serve.push_back(R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both"})");
    }
    cell["server_commands"] = json::array({serve});
    cell["router_command"] = nullptr;
    cell["bench_command"] = {"kvtier", "bench", "--target", "http://127.0.0.1:40001",
                             "--rate-type", "concurrent", "--rate", "5,25"};
    cell["monitor_command"] = nullptr;
    cell["versions"] = {{"kvtier", "kvtier 0.9.0 (cpu)"}};
    cell["hardware"] = {{"gpus", json::array({{{"name", "NVIDIA H100 80GB HBM3"},
                                               {"driver", "580.65"},
                                               {"memory_total_mib", 81559}}})},
                        {"cpu_model", "Intel Xeon"},
                        {"cpu_count", 16},
                        {"memory_total_bytes", 137438953472.0},
                        {"hostname", "gpu-1"}};
    cell["device"] = "cuda";
    cell["metrics_delta"] = c.metrics_delta;
    if (c.status == "failed") cell["error"] = "server exited with code 1 before /health";
    write_file(dir / "cell.json", cell.dump(2));
    if (c.status == "complete") {
      const double wobble = 1.0 + 0.01 * (c.repeat - 2);  // -1%, 0, +1% over three repeats
      write_file(dir / "benchmarks.json",
                 results_file({scaled(kLow, c.throughput * wobble, 1 / wobble),
                               scaled(kHigh, c.throughput * wobble, 1 / wobble)},
                              c.setup));
    }
  }
  write_file(out / "plan.json", plan.dump(2));
  write_file(out / "experiment.yaml", "name: offload-eval\nrepeats: 3\n");
}

std::vector<CellSpec> standard_cells() {
  std::vector<CellSpec> cells;
  for (int r = 1; r <= 3; ++r) {
    cells.push_back({"no-offload", r, "complete", 1.0, delta(1000, 600, 0, 0, 0)});
    cells.push_back({"native-offload", r, r == 3 ? "failed" : "complete", 1.3,
                     delta(1000, 600, 300, 2e9, 0.1)});
    // Plan order puts the larger value first; the sweep chart orders by value.
    cells.push_back({"native-offload@num_cpu_blocks=4000", r, "complete", 1.25});
    cells.push_back({"native-offload@num_cpu_blocks=1000", r, r == 2 ? "" : "complete", 1.1});
  }
  return cells;
}

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
  ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].rfind("native-offload: pays at every concurrency (5: +29.", 0), 0u) << lines[0];
  EXPECT_EQ(g.verdict[0].effect, Effect::kGain);
  EXPECT_EQ(lines[3],
            "failed: native-offload: Qwen3-0.6B/seed/native-offload/r3: failed: server exited "
            "with code 1 before /health");
  EXPECT_EQ(lines[4].rfind("failed: native-offload@num_cpu_blocks=1000: "
                           "Qwen3-0.6B/seed/native-offload@num_cpu_blocks=1000/r2: not run (no ",
                           0),
            0u)
      << lines[4];
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
  EXPECT_NE(svg.find(">concurrency 5</text>"), std::string::npos);   // one line per level
  EXPECT_NE(svg.find(">concurrency 25</text>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"reference\""), std::string::npos);     // the baseline
  EXPECT_NE(svg.find(">no-offload at 25 (baseline)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">num_cpu_blocks</text>"), std::string::npos);  // x axis label
  const std::string md = render_markdown(*r);
  EXPECT_NE(md.find("### output tok/s against num_cpu_blocks (native-offload)"),
            std::string::npos);
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
  write_folder(dir.path(), {{"no-offload", 1}, {"no-offload", 2}, {"native-offload", 1, "failed"},
                            {"native-offload", 2, "running"}});
  auto r = report_from_folder(dir.path(), {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const auto& v = r->groups[0].verdict;
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].text,
            "native-offload: no results to compare (every cell failed or none ran)");
  EXPECT_EQ(v[2].text,
            "failed: native-offload: Qwen3-0.6B/seed/native-offload/r2: did not finish (status "
            "\"running\")");
  // Rendering an arm without results must not fail.
  EXPECT_NE(render_html(*r).find("native-offload"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::report
