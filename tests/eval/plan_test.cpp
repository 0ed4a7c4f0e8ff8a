// Plan expansion: arms from sweeps, repeats with the arm order rotating, cell ids, commands.
#include <gtest/gtest.h>

#include "eval/commands.h"
#include "eval/eval_run.h"
#include "eval/plan.h"

namespace kvtier::eval {
namespace {

Experiment parse_ok(const std::string& text) {
  auto e = parse_experiment(text, "exp.yaml", "");
  EXPECT_TRUE(e.has_value()) << e.error().message();
  return *e;
}

const char* kSweep = R"(
name: s
repeats: 3
models:
  - {name: m, preset: tiny}
configs:
  off: {}
  on:
    kv-transfer-config:
      kv_connector: OffloadingConnector
      kv_role: kv_both
      kv_connector_extra_config: {num_cpu_blocks: 10000}
    sweep: {key: num_cpu_blocks, values: [2500, 5000]}
workloads:
  a: {rates: [1, 2], max_seconds: 10}
  b: {rate_type: synchronous, max_requests: 4}
)";

TEST(Plan, SweepsExpandIntoArms) {
  const Experiment e = parse_ok(kSweep);
  const auto arms = expand_arms(e);
  ASSERT_EQ(arms.size(), 3u);
  EXPECT_EQ(arms[0].name, "off");
  EXPECT_EQ(arms[1].name, "on@num_cpu_blocks=2500");
  EXPECT_EQ(arms[2].name, "on@num_cpu_blocks=5000");
  EXPECT_EQ(arms[2].config, "on");
  // The swept value replaces the config's inside the kv-transfer-config JSON.
  const auto flags = arm_flags(e, arms[2]);
  ASSERT_EQ(flags.size(), 1u);
  EXPECT_EQ(flags[0].second["kv_connector_extra_config"]["num_cpu_blocks"], 5000);
  const Argv serve = serve_command("kvtier", e, e.models[0], "/cache", arms[2], e.workloads[0], "8000");
  const Argv expected = {"kvtier", "serve", "/cache/tiny", "--host", "127.0.0.1", "--port", "8000",
                         "--device", "cpu", "--kv-transfer-config",
                         R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":{"num_cpu_blocks":5000},"kv_role":"kv_both"})"};
  EXPECT_EQ(serve, expected);
}

TEST(Plan, RepeatsRotateTheArmOrder) {
  const Experiment e = parse_ok(kSweep);
  const auto cells = make_plan(e);
  ASSERT_EQ(cells.size(), 1u * 2 * 3 * 3);  // models x workloads x arms x repeats
  std::vector<std::string> ids;
  for (size_t i = 0; i < 9; ++i) ids.push_back(cells[i].id);
  const std::vector<std::string> expected = {
      "m/a/off/r1", "m/a/on@num_cpu_blocks=2500/r1", "m/a/on@num_cpu_blocks=5000/r1",
      "m/a/on@num_cpu_blocks=2500/r2", "m/a/on@num_cpu_blocks=5000/r2", "m/a/off/r2",
      "m/a/on@num_cpu_blocks=5000/r3", "m/a/off/r3", "m/a/on@num_cpu_blocks=2500/r3"};
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(cells[9].id, "m/b/off/r1");
  for (size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(cells[i].order, int(i));
  const auto j = cell_json(cells[1]);
  EXPECT_EQ(j["arm"], "on@num_cpu_blocks=2500");
  EXPECT_EQ(j["config"], "on");
  EXPECT_EQ(j["sweep"]["key"], "num_cpu_blocks");
  EXPECT_EQ(j["sweep"]["value"], 2500);
  EXPECT_EQ(j["repeat"], 1);
  EXPECT_TRUE(cell_json(cells[0])["sweep"].is_null());
  const auto plan = plan_json(e, cells, "2026-12-07T00:00:00Z");
  EXPECT_EQ(plan["baseline"], "off");
  EXPECT_EQ(plan["cells"].size(), cells.size());
}

TEST(Plan, BenchAndServeCommandsCarryTheSettings) {
  const Experiment e = parse_ok(R"(
name: c
models: [{name: m, path: /models/x}]
configs:
  base: {max-num-seqs: 8, enable-prefix-caching: false, "--block-size": 16}
workloads:
  w:
    data: '{"prompt_tokens":8}'
    rates: [1, 2.5]
    max_seconds: 3
    warmup: 0.1
    request_type: text_completions
    extra: [--random-seed, "7"]
    serve_flags: {max-num-seqs: 4, num-gpu-blocks-override: 100}
)");
  const auto cells = make_plan(e);
  ASSERT_EQ(cells.size(), 1u);
  const Argv serve = serve_command("kvtier", e, e.models[0], "/cache", cells[0].arm, e.workloads[0], "1");
  const Argv serve_expected = {"kvtier", "serve", "/models/x", "--host", "127.0.0.1", "--port",
                               "1", "--device", "cpu", "--max-num-seqs", "4",
                               "--no-enable-prefix-caching", "--block-size", "16",
                               "--num-gpu-blocks-override", "100"};
  EXPECT_EQ(serve, serve_expected);
  const Argv bench = bench_command("kvtier", e.workloads[0], "http://h:1", "/o/benchmarks.json");
  const Argv bench_expected = {"kvtier", "bench", "run", "--target", "http://h:1", "--rate-type",
                               "concurrent", "--rate", "1,2.5", "--max-seconds", "3", "--warmup",
                               "0.1", "--data", R"({"prompt_tokens":8})", "--request-type",
                               "text_completions", "--outputs", "/o/benchmarks.json",
                               "--disable-console-interactive", "--random-seed", "7"};
  EXPECT_EQ(bench, bench_expected);
  EXPECT_EQ(shell_join({"a b", "c", R"({"x":1})"}), R"('a b' c '{"x":1}')");
}

TEST(Plan, DryRunListsEveryCellWithCommandsAndEstimate) {
  const Experiment e = parse_ok(std::string(kSweep) + "topology: {engines: 2, router: {}}\n");
  const auto cells = make_plan(e);
  const std::string text = describe_plan(e, cells, "kvtier", "out", "/nonexistent-cache");
  EXPECT_NE(text.find("18 cells (1 models x 2 workloads x 3 arms x 3 repeats)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("kvtier make-model --preset tiny --out /nonexistent-cache/tiny"),
            std::string::npos);
  EXPECT_NE(text.find("cell 1/18 m/a/off/r1"), std::string::npos);
  EXPECT_NE(text.find("cell 18/18 m/b/"), std::string::npos);
  EXPECT_NE(text.find("--port PORT1"), std::string::npos);
  EXPECT_NE(text.find("kvtier route --host 127.0.0.1 --port ROUTER_PORT --endpoint "
                      "http://127.0.0.1:PORT0,http://127.0.0.1:PORT1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("--target http://127.0.0.1:ROUTER_PORT"), std::string::npos);
  EXPECT_NE(text.find("--outputs out/cells/m/a/off/r1/benchmarks.json"), std::string::npos);
  // 9 cells of 2 levels x (10 + 3) s + 8 s, 9 of 1 level x (60 + 3) s + 8 s.
  const double total = 9 * (2 * 13 + 8) + 9 * (63 + 8);
  EXPECT_EQ(estimate_cell_seconds(e, cells[0]), 34);
  EXPECT_NE(text.find("estimated duration: " + std::to_string(int(total) / 60) + ":"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace kvtier::eval
