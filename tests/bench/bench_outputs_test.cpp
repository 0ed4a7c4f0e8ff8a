// The session's outputs as a run goes: rewritten after each benchmark, and an interrupted run
// keeps what finished with the cut benchmark apart.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_session.h"
#include "bench/console_output.h"
#include "bench/scripted_server.h"
#include "test_support.h"

namespace kvtier::bench {
namespace {

namespace fs = std::filesystem;
using testing::fresh_temp_dir;
using testing::qwen3;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);  // throws (fails the test) on a half-written file
}

size_t csv_rows(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  size_t rows = 0;
  while (std::getline(in, line)) ++rows;
  return rows == 0 ? 0 : rows - 1;  // less the header
}

std::vector<std::string> hidden_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) names.push_back(e.path().string());
  }
  return names;
}

// Requests numbered below `fast` finish in a few ms; later ones wait `slow_ttft_s` for their
// first token (they are in flight when a test interrupts the run).
ScriptedServerOptions fast_then_stalled(int64_t fast, double slow_ttft_s) {
  ScriptedServerOptions o;
  o.script = [=](const nlohmann::json&, int64_t index) {
    ScriptedReply r;
    r.itl_s = 0.001;
    if (index >= fast) r.ttft_s = slow_ttft_s;
    return r;
  };
  return o;
}

BenchConfig concurrent_config(const std::string& url, const fs::path& dir, int64_t requests) {
  RawBenchArgs raw;
  raw.target = url;
  raw.data = {"prompt_tokens=8,output_tokens=4"};
  raw.profile = "concurrent";
  raw.rate = {"1,2,3"};
  raw.max_requests = requests;
  raw.max_seconds = 300;
  raw.output_dir = dir.string();
  raw.io_threads = 2;
  return std::move(make_bench_config(raw)).value();
}

TEST(BenchOutputs, EveryFileIsRewrittenAsEachBenchmarkEnds) {
  auto server = std::move(ScriptedServer::start(fast_then_stalled(1000, 0))).value();
  const auto dir = fresh_temp_dir("outputs_each");
  auto config = concurrent_config(server->url(), dir, 3);
  auto info = probe_server(config);
  ASSERT_TRUE(info.has_value()) << info.error().message();

  std::vector<size_t> json_counts, csv_counts;
  std::vector<std::string> states;
  std::vector<std::string> lines;
  SessionHooks hooks;
  hooks.on_report = [&](const BenchReport& report) -> Status {
    KVTIER_RETURN_IF_ERROR(write_outputs(report));
    auto json = read_json(dir / "benchmarks.json");
    json_counts.push_back(json["benchmarks"].size());
    states.push_back(json["metadata"]["state"].get<std::string>());
    EXPECT_EQ(json["metadata"]["benchmarks_finished"], json["benchmarks"].size());
    EXPECT_EQ(json["metadata"]["benchmarks_planned"], 3);
    EXPECT_EQ(json["metadata"]["interrupted"], false);
    EXPECT_TRUE(json["metadata"]["interrupted_benchmark"].is_null());
    csv_counts.push_back(csv_rows(dir / "benchmarks.csv"));
    EXPECT_TRUE(hidden_files(dir).empty()) << hidden_files(dir)[0];
    lines.push_back(format_benchmark_line(report, report.benchmarks.size() - 1));
    return Status::ok();
  };
  auto report = run_bench(config, *info, qwen3(), "qwen3", hooks);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_EQ(report->state, RunState::kFinished);
  EXPECT_EQ(json_counts, (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(csv_counts, (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(states, (std::vector<std::string>{"running", "running", "finished"}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[1].starts_with("Benchmark 2/3 done: concurrent@2 ")) << lines[1];
  EXPECT_NE(lines[1].find("completed 3 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("(max_requests reached)"), std::string::npos) << lines[1];

  // The args tell runs apart: profile, rates, data (as given and parsed), model, request type
  // and limits.
  const auto args = read_json(dir / "benchmarks.json")["args"];
  EXPECT_EQ(args["profile"], "concurrent");
  EXPECT_EQ(args["rate_type"], "concurrent");
  EXPECT_EQ(args["rate"], nlohmann::json({1.0, 2.0, 3.0}));
  EXPECT_EQ(args["data"][0], "prompt_tokens=8,output_tokens=4");
  EXPECT_EQ(args["data_config"]["prompt_tokens"], 8);
  EXPECT_EQ(args["data_config"]["output_tokens"], 4);
  EXPECT_EQ(args["data_config"]["turns"], 1);
  EXPECT_EQ(args["model"], "scripted-model");  // resolved from the server: no --model given
  EXPECT_EQ(args["processor"], "qwen3");
  EXPECT_EQ(args["request_type"], "chat_completions");
  EXPECT_EQ(args["request_format"], "/v1/chat/completions");
  EXPECT_EQ(args["max_seconds"], 300.0);
  EXPECT_EQ(args["max_requests"], 3);
  EXPECT_TRUE(hidden_files(dir).empty());
  fs::remove_all(dir);
}

TEST(BenchOutputs, AnInterruptCutsTheRunningBenchmarkAndKeepsItApart) {
  // Benchmark 1 (1 stream, 4 requests) and the first 2 requests of benchmark 2 finish; the
  // next 2 stall until the run is interrupted.
  auto server = std::move(ScriptedServer::start(fast_then_stalled(6, 600))).value();
  const auto dir = fresh_temp_dir("outputs_interrupt");
  auto config = concurrent_config(server->url(), dir, 4);
  auto info = probe_server(config);
  ASSERT_TRUE(info.has_value()) << info.error().message();

  InterruptFlag flag{0};
  std::vector<std::string> states;
  SessionHooks hooks;
  hooks.interrupt = &flag;
  hooks.on_progress = [&](size_t index, size_t, const Strategy&, const ProgressSnapshot& s) {
    if (index == 1 && s.successful == 2 && s.in_flight == 2) flag.store(SIGINT);
  };
  hooks.on_report = [&](const BenchReport& report) -> Status {
    states.push_back(std::string(run_state_name(report.state)));
    return write_outputs(report);
  };
  const auto started = std::chrono::steady_clock::now();
  auto report = run_bench(config, *info, qwen3(), "qwen3", hooks);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  // Far sooner than the stalled requests' 600 s: they were cancelled.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120));
  EXPECT_EQ(states, (std::vector<std::string>{"running", "interrupted"}));
  EXPECT_EQ(report->state, RunState::kInterrupted);
  EXPECT_EQ(report->interrupted_by, SIGINT);
  ASSERT_EQ(report->benchmarks.size(), 1u);
  ASSERT_TRUE(report->interrupted.has_value());
  EXPECT_EQ(report->interrupted->index, 1);
  EXPECT_EQ(report->interrupted->run.stop_reason, "interrupted by SIGINT");
  EXPECT_EQ(report->interrupted->metrics.successful, 2);
  EXPECT_EQ(report->interrupted->metrics.incomplete, 2);
  EXPECT_EQ(server->completion_requests(), 8);  // nothing sent after the interrupt

  auto json = read_json(dir / "benchmarks.json");
  EXPECT_EQ(json["metadata"]["state"], "interrupted");
  EXPECT_EQ(json["metadata"]["interrupted"], true);
  EXPECT_EQ(json["metadata"]["interrupted_by"], "SIGINT");
  ASSERT_EQ(json["benchmarks"].size(), 1u);
  EXPECT_EQ(json["benchmarks"][0]["metrics"]["request_totals"]["successful"], 4);
  const auto& cut = json["metadata"]["interrupted_benchmark"];
  EXPECT_EQ(cut["run_index"], 1);
  EXPECT_EQ(cut["config"]["strategy"]["streams"], 2);
  EXPECT_EQ(cut["kvtier"]["stop_reason"], "interrupted by SIGINT");
  EXPECT_EQ(cut["metrics"]["request_totals"]["successful"], 2);
  EXPECT_EQ(cut["metrics"]["request_totals"]["incomplete"], 2);
  EXPECT_EQ(cut["requests"]["incomplete"].size(), 2u);
  EXPECT_EQ(csv_rows(dir / "benchmarks.csv"), 1u);  // the CSV holds finished benchmarks only
  EXPECT_TRUE(hidden_files(dir).empty());

  const std::string line = format_interrupted_line(*report);
  EXPECT_NE(line.find("interrupted by SIGINT during benchmark 2/3 (concurrent@2)"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("wrote 1 finished benchmark to "), std::string::npos) << line;
  EXPECT_NE(line.find((dir / "benchmarks.csv").string()), std::string::npos) << line;
  fs::remove_all(dir);
}

TEST(BenchOutputs, AnInterruptBetweenBenchmarksStartsNoOther) {
  auto server = std::move(ScriptedServer::start(fast_then_stalled(1000, 0))).value();
  const auto dir = fresh_temp_dir("outputs_between");
  auto config = concurrent_config(server->url(), dir, 2);
  auto info = probe_server(config);
  ASSERT_TRUE(info.has_value()) << info.error().message();
  InterruptFlag flag{0};
  SessionHooks hooks;
  hooks.interrupt = &flag;
  hooks.on_report = [&](const BenchReport& report) -> Status {
    flag.store(SIGTERM);  // arrives just as benchmark 1 was written
    return write_outputs(report);
  };
  auto report = run_bench(config, *info, qwen3(), "qwen3", hooks);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_EQ(report->state, RunState::kInterrupted);
  EXPECT_EQ(report->interrupted_by, SIGTERM);
  EXPECT_EQ(report->benchmarks.size(), 1u);
  EXPECT_FALSE(report->interrupted.has_value());
  EXPECT_EQ(server->completion_requests(), 2);
  auto json = read_json(dir / "benchmarks.json");
  EXPECT_EQ(json["metadata"]["interrupted_by"], "SIGTERM");
  EXPECT_TRUE(json["metadata"]["interrupted_benchmark"].is_null());
  EXPECT_EQ(json["benchmarks"].size(), 1u);
  EXPECT_NE(format_interrupted_line(*report).find("between benchmarks"), std::string::npos);
  fs::remove_all(dir);
}

TEST(BenchOutputs, AFailureAfterAFinishedBenchmarkIsWrittenAsFailed) {
  // Benchmark 1's 60 requests succeed; every later one fails, so benchmark 2 stops at the
  // fail-fast rule (kFailFastRequests failures and no success).
  constexpr int64_t kRequests = 60;
  static_assert(kRequests > kFailFastRequests);
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json&, int64_t index) {
    ScriptedReply r;
    if (index >= kRequests) r.status = 500;
    return r;
  };
  auto server = std::move(ScriptedServer::start(options)).value();
  const auto dir = fresh_temp_dir("outputs_failed");
  auto config = concurrent_config(server->url(), dir, kRequests);
  auto info = probe_server(config);
  ASSERT_TRUE(info.has_value()) << info.error().message();
  std::vector<std::string> states;
  SessionHooks hooks;
  hooks.on_report = [&](const BenchReport& report) -> Status {
    states.push_back(std::string(run_state_name(report.state)));
    return write_outputs(report);
  };
  auto report = run_bench(config, *info, qwen3(), "qwen3", hooks);
  ASSERT_FALSE(report.has_value());
  EXPECT_NE(report.error().message().find("all failed"), std::string::npos);
  EXPECT_EQ(states, (std::vector<std::string>{"running", "failed"}));
  auto json = read_json(dir / "benchmarks.json");
  EXPECT_EQ(json["metadata"]["state"], "failed");
  EXPECT_NE(json["metadata"]["error"].get<std::string>().find("benchmark 2 (concurrent@2)"),
            std::string::npos)
      << json["metadata"]["error"];
  EXPECT_EQ(json["benchmarks"].size(), 1u);
  EXPECT_EQ(csv_rows(dir / "benchmarks.csv"), 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvtier::bench
