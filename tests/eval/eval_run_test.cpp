// `kvtier eval` end to end on the tiny CPU model: the built binary runs every cell as
// subprocesses (serve, bench), resumes after being killed, and benchmarks an external target.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "eval/eval_process.h"
#include "integration/serve_process.h"

namespace kvtier::eval {
namespace {

namespace fs = std::filesystem;
using testing::KvtierProcess;
using testing::read_json;
using testing::read_text;
using testing::scratch_dir;

// Two short configs on the tiny model; each level a couple of seconds at concurrency 2.
std::string tiny_experiment(const std::string& name, int repeats, double seconds,
                            const std::string& configs) {
  return "name: " + name + "\nrepeats: " + std::to_string(repeats) +
         "\ndevice: cpu\nmonitor: {enabled: false}\nmodels:\n  - name: tiny\n    path: " +
         server::testing::tiny_model_dir().string() + "\nconfigs:\n" + configs +
         "workloads:\n  w:\n    data: {prompt_tokens: 32, output_tokens: 8, prefix_tokens: 64}\n"
         "    rates: [2]\n    max_seconds: " + std::to_string(seconds) +
         "\n    extra: [--random-seed, '5']\n";
}

const char* kTwoConfigs =
    "  plain: {num-threads: 1}\n"
    "  offload:\n"
    "    num-threads: 1\n"
    "    kv-transfer-config: {kv_connector: OffloadingConnector, kv_role: kv_both,"
    " kv_connector_extra_config: {num_cpu_blocks: 200}}\n";

fs::path write(const fs::path& dir, const std::string& text) {
  fs::path file = dir / "exp.yaml";
  std::ofstream(file) << text;
  return file;
}

bool port_listens(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

int port_of(const nlohmann::json& argv) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--port") return std::stoi(argv[i + 1].get<std::string>());
  }
  return 0;
}

TEST(EvalRun, TwoConfigsTwoRepeatsOnTheTinyModel) {
  const fs::path dir = scratch_dir("full");
  const fs::path exp = write(dir, tiny_experiment("full", 2, 2, kTwoConfigs));
  const fs::path out = dir / "out";
  KvtierProcess eval({"eval", exp.string(), "--out", out.string()}, dir / "eval.log");
  auto code = eval.wait(std::chrono::seconds(300));
  ASSERT_TRUE(code.has_value()) << eval.log();
  // All cells complete: 0 whether or not `kvtier report DIR` can read the folder yet.
  EXPECT_EQ(*code, 0) << eval.log();

  const auto plan = read_json(out / "plan.json");
  ASSERT_TRUE(plan.is_object()) << eval.log();
  EXPECT_EQ(plan["name"], "full");
  EXPECT_EQ(plan["baseline"], "plain");
  ASSERT_EQ(plan["cells"].size(), 4u);
  // The second repeat runs the arms in the other order.
  EXPECT_EQ(plan["cells"][0]["id"], "tiny/w/plain/r1");
  EXPECT_EQ(plan["cells"][1]["id"], "tiny/w/offload/r1");
  EXPECT_EQ(plan["cells"][2]["id"], "tiny/w/offload/r2");
  EXPECT_EQ(plan["cells"][3]["id"], "tiny/w/plain/r2");
  EXPECT_EQ(read_text(out / "experiment.yaml"), read_text(exp));

  double previous_end = 0;
  for (const auto& entry : plan["cells"]) {
    const fs::path cell = out / "cells" / entry["id"].get<std::string>();
    const auto c = read_json(cell / "cell.json");
    ASSERT_TRUE(c.is_object()) << cell;
    EXPECT_EQ(c["status"], "complete") << c.dump(2);
    EXPECT_EQ(c["order"], entry["order"]);
    EXPECT_EQ(c["device"], "cpu");
    ASSERT_EQ(c["server_commands"].size(), 1u);
    EXPECT_TRUE(c["router_command"].is_null());
    EXPECT_TRUE(c["monitor_command"].is_null());
    EXPECT_EQ(c["target"], "http://127.0.0.1:" + std::to_string(port_of(c["server_commands"][0])));
    EXPECT_NE(c["versions"]["kvtier"].get<std::string>().find("kvtier"), std::string::npos);
    EXPECT_GT(c["hardware"]["cpu_count"].get<int>(), 0);
    // Cells ran one after another, in plan order.
    EXPECT_GE(c["started_at"].get<double>(), previous_end);
    EXPECT_GT(c["finished_at"].get<double>(), c["started_at"].get<double>());
    previous_end = c["finished_at"].get<double>();
    const auto& delta = c["metrics_delta"];
    ASSERT_TRUE(delta.is_object()) << c.dump(2);
    EXPECT_GT(delta["generation_tokens"].get<int64_t>(), 0);
    EXPECT_GT(delta["prompt_tokens"].get<int64_t>(), 0);
    const bool offload = entry["config"] == "offload";
    // Only the offload arm stores blocks in the CPU tier.
    EXPECT_EQ(delta["kv_offload_bytes"]["GPU_to_CPU"].get<int64_t>() > 0, offload) << c.dump(2);
    const bool has_transfer_config =
        c["server_commands"][0].dump().find("OffloadingConnector") != std::string::npos;
    EXPECT_EQ(has_transfer_config, offload);
    const auto bench = read_json(cell / "benchmarks.json");
    ASSERT_TRUE(bench.is_object()) << cell;
    EXPECT_EQ(bench["benchmarks"].size(), 1u);
    EXPECT_TRUE(fs::exists(cell / "metrics-before.txt"));
    EXPECT_NE(read_text(cell / "metrics-after.txt").find("vllm:generation_tokens"),
              std::string::npos);
    EXPECT_NE(read_text(cell / "server.log").find("Application startup complete"),
              std::string::npos);
    // The engine is gone once its cell ends.
    EXPECT_FALSE(port_listens(port_of(c["server_commands"][0])));
  }
  // Without a TTY, one line per finished cell.
  EXPECT_NE(eval.log().find("cell 4/4 tiny/w/plain/r2: complete"), std::string::npos)
      << eval.log();
}

TEST(EvalRun, ResumeAfterKillRerunsOnlyTheUnfinishedCell) {
  const fs::path dir = scratch_dir("resume");
  const fs::path exp = write(dir, tiny_experiment("resume", 1, 3, kTwoConfigs));
  const fs::path out = dir / "out";
  const fs::path first = out / "cells/tiny/w/plain/r1/cell.json";
  const fs::path second = out / "cells/tiny/w/offload/r1/cell.json";
  int killed_port = 0;
  {
    KvtierProcess eval({"eval", exp.string(), "--out", out.string()}, dir / "eval1.log");
    // Kill it while the second cell's bench runs.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    bool benching = false;
    while (!benching && std::chrono::steady_clock::now() < deadline) {
      const auto c = read_json(second);
      benching = c.is_object() && fs::exists(second.parent_path() / "bench.log");
      if (benching) killed_port = port_of(c["server_commands"][0]);
      ASSERT_FALSE(eval.wait(std::chrono::seconds(0)).has_value()) << eval.log();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(benching) << eval.log();
    eval.signal(SIGKILL);
    ASSERT_EQ(eval.wait(std::chrono::seconds(30)), 128 + SIGKILL);
  }
  EXPECT_EQ(read_json(first)["status"], "complete");
  EXPECT_EQ(read_json(second)["status"], "running");
  // The killed eval's engine died with it (no orphan holding the port).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (port_listens(killed_port) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(port_listens(killed_port));

  // A different experiment does not resume into this folder.
  const fs::path changed = dir / "changed.yaml";
  std::string text = read_text(exp);
  text.replace(text.find("rates: [2]"), 10, "rates: [3]");
  std::ofstream(changed) << text;
  KvtierProcess refused({"eval", changed.string(), "--out", out.string(), "--resume"},
                        dir / "eval2.log");
  ASSERT_EQ(refused.wait(std::chrono::seconds(60)), 2) << refused.log();
  EXPECT_NE(refused.log().find("workloads.w.rates[0]"), std::string::npos) << refused.log();

  // One that differs without changing the plan (a pause between cells) resumes.
  const fs::path paused = dir / "paused.yaml";
  std::ofstream(paused) << read_text(exp) << "seconds_between_cells: 0.1\n";
  const double first_started = read_json(first)["started_at"].get<double>();
  KvtierProcess resumed({"eval", paused.string(), "--out", out.string(), "--resume"},
                        dir / "eval3.log");
  auto code = resumed.wait(std::chrono::seconds(240));
  ASSERT_TRUE(code.has_value()) << resumed.log();
  EXPECT_EQ(*code, 0) << resumed.log();
  EXPECT_NE(resumed.log().find("differs from " + (out / "experiment.yaml").string() +
                               " at 'seconds_between_cells', but the plan is the same"),
            std::string::npos)
      << resumed.log();
  EXPECT_NE(resumed.log().find("cell 1/2 tiny/w/plain/r1: complete before, skipped"),
            std::string::npos)
      << resumed.log();
  EXPECT_EQ(read_json(first)["started_at"].get<double>(), first_started);
  const auto c = read_json(second);
  EXPECT_EQ(c["status"], "complete");
  EXPECT_EQ(read_json(second.parent_path() / "benchmarks.json")["benchmarks"].size(), 1u);
}

TEST(EvalRun, ExternalTargetIsBenchmarkedAndObserved) {
  server::testing::ServeProcess server(server::testing::tiny_model_dir(), {"--num-threads", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  const fs::path dir = scratch_dir("target");
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  const fs::path exp = write(dir, "name: ext\nmonitor: {enabled: false}\ntargets: {url: '" + url +
                                      "'}\nconfigs: {my-vllm: {}}\n"
                                      "workloads:\n  w:\n    data: {prompt_tokens: 16, output_tokens: 4}\n"
                                      "    rates: [1]\n    max_seconds: 2\n");
  const fs::path out = dir / "out";
  KvtierProcess eval({"eval", exp.string(), "--out", out.string()}, dir / "eval.log");
  auto code = eval.wait(std::chrono::seconds(120));
  ASSERT_TRUE(code.has_value()) << eval.log();
  EXPECT_EQ(*code, 0) << eval.log();
  const auto c = read_json(out / "cells/target/w/my-vllm/r1/cell.json");
  ASSERT_TRUE(c.is_object()) << eval.log();
  EXPECT_EQ(c["status"], "complete");
  EXPECT_EQ(c["target"], url);
  EXPECT_TRUE(c["server_commands"].empty());
  ASSERT_TRUE(c["metrics_delta"].is_object());
  EXPECT_GT(c["metrics_delta"]["generation_tokens"].get<int64_t>(), 0);
  // The deployment keeps running: eval does not own it.
  EXPECT_TRUE(server.running());
  EXPECT_TRUE(port_listens(server.port()));
}

TEST(EvalRun, TwoEnginesBehindTheRouter) {
  const fs::path dir = scratch_dir("router");
  std::string text = tiny_experiment("router", 1, 2, "  plain: {num-threads: 1}\n");
  text += "topology: {engines: 2, router: {}}\n";
  const fs::path exp = write(dir, text);
  const fs::path out = dir / "out";
  KvtierProcess eval({"eval", exp.string(), "--out", out.string()}, dir / "eval.log");
  auto code = eval.wait(std::chrono::seconds(180));
  ASSERT_TRUE(code.has_value()) << eval.log();
  EXPECT_EQ(*code, 0) << eval.log();
  const fs::path cell = out / "cells/tiny/w/plain/r1";
  const auto c = read_json(cell / "cell.json");
  ASSERT_TRUE(c.is_object()) << eval.log();
  EXPECT_EQ(c["status"], "complete") << c.dump(2);
  ASSERT_EQ(c["server_commands"].size(), 2u);
  ASSERT_TRUE(c["router_command"].is_array());
  const int router_port = port_of(c["router_command"]);
  EXPECT_EQ(c["target"], "http://127.0.0.1:" + std::to_string(router_port));
  const std::string endpoints = c["router_command"].dump();
  for (const auto& server : c["server_commands"]) {
    const int port = port_of(server);
    EXPECT_NE(port, router_port);
    EXPECT_NE(endpoints.find("http://127.0.0.1:" + std::to_string(port)), std::string::npos);
  }
  // One snapshot and log per engine; the counters summed over both.
  for (const char* file : {"metrics-before.0.txt", "metrics-before.1.txt", "metrics-after.0.txt",
                           "metrics-after.1.txt", "server.0.log", "server.1.log", "router.log"}) {
    EXPECT_TRUE(fs::exists(cell / file)) << file;
  }
  EXPECT_GT(c["metrics_delta"]["generation_tokens"].get<int64_t>(), 0);
  EXPECT_FALSE(port_listens(router_port));
}

TEST(EvalRun, SigtermStopsTheRunningCellAndLeavesItUnfinished) {
  const fs::path dir = scratch_dir("sigterm");
  const fs::path exp = write(dir, tiny_experiment("sigterm", 1, 60, "  plain: {num-threads: 1}\n"));
  const fs::path out = dir / "out";
  const fs::path cell = out / "cells/tiny/w/plain/r1";
  KvtierProcess eval({"eval", exp.string(), "--out", out.string()}, dir / "eval.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(cell / "bench.log") && std::chrono::steady_clock::now() < deadline) {
    ASSERT_FALSE(eval.wait(std::chrono::seconds(0)).has_value()) << eval.log();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(fs::exists(cell / "bench.log")) << eval.log();
  const int port = port_of(read_json(cell / "cell.json")["server_commands"][0]);
  eval.signal(SIGTERM);
  // Well before the 60 s level would end: eval stops bench and the engine, then exits.
  ASSERT_EQ(eval.wait(std::chrono::seconds(50)), 128 + SIGTERM) << eval.log();
  EXPECT_FALSE(port_listens(port));
  EXPECT_EQ(read_json(cell / "cell.json")["status"], "running");
  EXPECT_NE(eval.log().find("--resume"), std::string::npos) << eval.log();
}

TEST(EvalRun, AFailedCellIsRecordedAndTheRestRun) {
  const fs::path dir = scratch_dir("failed");
  const fs::path exp = write(
      dir, tiny_experiment("failed", 1, 2,
                           "  broken: {num-threads: 1, kv-transfer-config: {kv_connector: Nope}}\n"
                           "  plain: {num-threads: 1}\n"));
  const fs::path out = dir / "out";
  KvtierProcess eval({"eval", exp.string(), "--out", out.string()}, dir / "eval.log");
  ASSERT_EQ(eval.wait(std::chrono::seconds(180)), 1) << eval.log();
  const auto broken = read_json(out / "cells/tiny/w/broken/r1/cell.json");
  EXPECT_EQ(broken["status"], "failed");
  const std::string error = broken["error"].get<std::string>();
  // The error names the cell and carries the end of the server's log.
  EXPECT_EQ(error.rfind("cell tiny/w/broken/r1: the engine", 0), 0u) << error;
  EXPECT_NE(error.find("kv_connector \"Nope\" is not supported"), std::string::npos) << error;
  EXPECT_EQ(read_json(out / "cells/tiny/w/plain/r1/cell.json")["status"], "complete");

  // A flag serve does not have stops eval before any cell, naming the key.
  std::ofstream(dir / "typo.yaml") << tiny_experiment("typo", 1, 2, "  a: {max-num-seq5: 4}\n");
  KvtierProcess typo({"eval", (dir / "typo.yaml").string(), "--out", (dir / "typo").string()},
                     dir / "typo.log");
  ASSERT_EQ(typo.wait(std::chrono::seconds(60)), 2) << typo.log();
  EXPECT_NE(typo.log().find("typo.yaml: configs.a.max-num-seq5: `kvtier serve` has no --max-num-seq5"),
            std::string::npos)
      << typo.log();
  EXPECT_FALSE(fs::exists(dir / "typo"));
}

TEST(EvalRun, DryRunPrintsThePlanAndWritesNothing) {
  const fs::path dir = scratch_dir("dry");
  const fs::path exp = write(dir, tiny_experiment("dry", 2, 30, kTwoConfigs));
  const fs::path out = dir / "out";
  KvtierProcess eval({"eval", exp.string(), "--out", out.string(), "--dry-run"},
                     dir / "eval.log");
  ASSERT_EQ(eval.wait(std::chrono::seconds(60)), 0) << eval.log();
  const std::string text = eval.log();
  EXPECT_NE(text.find("4 cells (1 models x 1 workloads x 2 arms x 2 repeats)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("cell 3/4 tiny/w/offload/r2"), std::string::npos) << text;
  EXPECT_NE(text.find(" serve " + server::testing::tiny_model_dir().string() +
                      " --host 127.0.0.1 --port PORT0 --device cpu --num-threads 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bench run --target http://127.0.0.1:PORT0 --rate-type concurrent --rate 2 "
                      "--max-seconds 30"),
            std::string::npos)
      << text;
  // 4 cells x (1 level x (30 + 3) s + 8 s) = 2:44.
  EXPECT_NE(text.find("estimated duration: 2:44"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(out));
  // A schema error exits 2 naming the file and key.
  std::ofstream(dir / "bad.yaml") << "name: x\nworkloads: {w: {rates: [1, x], max_seconds: 1}}\n"
                                     "models: [{name: m, preset: tiny}]\nconfigs: {a: {}}\n";
  KvtierProcess bad({"eval", (dir / "bad.yaml").string(), "--dry-run"}, dir / "bad.log");
  ASSERT_EQ(bad.wait(std::chrono::seconds(60)), 2) << bad.log();
  EXPECT_NE(bad.log().find("bad.yaml: workloads.w.rates[1]: 'x' is not a number"),
            std::string::npos)
      << bad.log();
}

}  // namespace
}  // namespace kvtier::eval
