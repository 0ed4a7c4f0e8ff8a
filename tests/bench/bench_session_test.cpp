#include "bench/bench_session.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/console_output.h"
#include "bench/scripted_server.h"
#include "common/paths.h"

namespace kvtier::bench {
namespace {

std::shared_ptr<const TokenCodec> qwen3() {
  static auto codec = std::move(load_token_codec(default_tokenizer_dir())).value();
  return codec;
}

BenchConfig config_for(const std::string& url, const std::filesystem::path& dir) {
  RawBenchArgs raw;
  raw.target = url;
  raw.data = {R"({"prompt_tokens":16,"output_tokens":4,"prefix_tokens":32,"turns":2})"};
  raw.profile = "concurrent";
  raw.rate = {"2,3"};
  raw.max_requests = 6;
  raw.random_seed = 889;
  raw.output_dir = dir.string();
  raw.io_threads = 2;
  return std::move(make_bench_config(raw)).value();
}

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kvtier_bench_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(BenchSession, ProbeFindsTheModelAndRejectsADeadTarget) {
  auto server = std::move(ScriptedServer::start({})).value();
  auto config = config_for(server->url(), temp_dir("probe"));
  auto info = probe_server(config);
  ASSERT_TRUE(info.has_value()) << info.error().message();
  EXPECT_EQ(info->model, "scripted-model");
  EXPECT_EQ(info->model_root, "scripted-model");
  // No such folder: the bundled tokenizer is used.
  EXPECT_EQ(choose_processor(config, *info), default_tokenizer_dir());
  config.processor = "/some/dir";
  EXPECT_EQ(choose_processor(config, *info), "/some/dir");

  // A server whose model id is a local folder holding tokenizer.json: its tokenizer is used.
  ScriptedServerOptions local;
  local.model_id = default_tokenizer_dir().string();
  auto local_server = std::move(ScriptedServer::start(local)).value();
  auto local_config = config_for(local_server->url(), temp_dir("probe"));
  auto local_info = probe_server(local_config);
  ASSERT_TRUE(local_info.has_value());
  EXPECT_EQ(choose_processor(local_config, *local_info), default_tokenizer_dir());
  local_config.processor.clear();
  local_info->model = "renamed";  // the root still names the folder
  EXPECT_EQ(choose_processor(local_config, *local_info), default_tokenizer_dir());

  const std::string url = server->url();
  server.reset();
  auto dead = probe_server(config_for(url, temp_dir("probe")));
  ASSERT_FALSE(dead.has_value());
  EXPECT_EQ(dead.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(dead.error().message().find("--target " + url), std::string::npos)
      << dead.error().message();
  EXPECT_NE(dead.error().message().find("not reachable"), std::string::npos);
}

TEST(BenchSession, ConcurrentProfileWritesGuidellmJsonAndCsv) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json& body, int64_t) {
    ScriptedReply r;
    r.itl_s = 0.001;
    r.prompt_tokens = ScriptedServer::count_prompt_words(body);
    return r;
  };
  auto server = std::move(ScriptedServer::start(options)).value();
  const auto dir = temp_dir("concurrent");
  auto config = config_for(server->url(), dir);
  auto info = probe_server(config);
  ASSERT_TRUE(info.has_value());
  std::vector<std::string> started;
  SessionHooks hooks;
  hooks.on_start = [&](size_t, size_t planned, const Strategy& s) {
    EXPECT_EQ(planned, 2u);
    started.push_back(s.label());
  };
  auto report = run_bench(config, *info, qwen3(), "qwen3", hooks);
  ASSERT_TRUE(report.has_value()) << report.error().message();
  EXPECT_EQ(started, (std::vector<std::string>{"concurrent@2", "concurrent@3"}));
  ASSERT_EQ(report->benchmarks.size(), 2u);
  EXPECT_EQ(server->completion_requests(), 12);
  // Benchmark 2 used fresh prompts (iteration 2), each prompt 16 tokens after its marker.
  for (const auto& body : server->bodies()) {
    const auto& messages = body["messages"];
    EXPECT_EQ(messages[0]["role"], "system");
    EXPECT_EQ(qwen3()->encode(messages[0]["content"].get<std::string>())->size(), 32u);
    EXPECT_EQ(qwen3()->encode(messages.back()["content"].get<std::string>())->size(), 16u);
  }

  ASSERT_TRUE(write_outputs(*report).is_ok());
  std::ifstream in(dir / "benchmarks.json");
  ASSERT_TRUE(in.good());
  auto json = nlohmann::json::parse(in);
  ASSERT_TRUE(json.contains("metadata"));
  EXPECT_EQ(json["args"]["profile"], "concurrent");
  EXPECT_EQ(json["args"]["random_seed"], 889);
  ASSERT_EQ(json["benchmarks"].size(), 2u);
  const auto& b = json["benchmarks"][1];
  EXPECT_EQ(b["config"]["strategy"]["type_"], "concurrent");
  EXPECT_EQ(b["config"]["strategy"]["streams"], 3);
  EXPECT_EQ(b["config"]["constraints"]["max_requests"]["max_num"], 6);
  EXPECT_EQ(b["config"]["profile"]["type_"], "concurrent");
  EXPECT_EQ(b["metrics"]["request_totals"]["successful"], 6);
  EXPECT_EQ(b["metrics"]["output_token_count"]["successful"]["mean"], 4.0);
  EXPECT_GT(b["metrics"]["requests_per_second"]["successful"]["mean"].get<double>(), 0.0);
  EXPECT_GT(b["duration"].get<double>(), 0.0);
  ASSERT_EQ(b["requests"]["successful"].size(), 6u);
  const auto& r = b["requests"]["successful"][0];
  EXPECT_EQ(r["output_tokens"], 4);
  EXPECT_EQ(r["info"]["status"], "completed");
  EXPECT_TRUE(r["info"]["timings"]["first_token_iteration"].is_number());
  EXPECT_TRUE(r["request_args"].is_string());  // every request kept in full by default
  EXPECT_TRUE(b["requests"]["incomplete"].empty());

  std::ifstream csv(dir / "benchmarks.csv");
  std::string header, row1, row2, extra;
  std::getline(csv, header);
  std::getline(csv, row1);
  std::getline(csv, row2);
  EXPECT_FALSE(std::getline(csv, extra));
  EXPECT_TRUE(header.starts_with("benchmark,strategy,level,"));
  EXPECT_TRUE(row2.starts_with("1,concurrent@3,3,"));

  const std::string tables = format_summary_tables(*report);
  EXPECT_NE(tables.find("concurrent@2"), std::string::npos);
  EXPECT_NE(tables.find("Request Latency Statistics"), std::string::npos);
  EXPECT_EQ(tables.find("Errors"), std::string::npos);  // none errored
  std::filesystem::remove_all(dir);
}

TEST(BenchSession, SweepRunsSynchronousThroughputThenRates) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.ttft_s = 0.002;
    return r;
  };
  auto server = std::move(ScriptedServer::start(options)).value();
  RawBenchArgs raw;
  raw.target = server->url();
  raw.data = {"prompt_tokens=8,output_tokens=2"};
  raw.profile = "sweep";
  raw.rate = {"4"};
  raw.max_requests = 8;
  raw.max_concurrency = 4;
  raw.outputs = {"console"};
  auto config = make_bench_config(raw);
  ASSERT_TRUE(config.has_value()) << config.error().message();
  auto info = probe_server(*config);
  ASSERT_TRUE(info.has_value());
  auto report = run_bench(*config, *info, qwen3(), "qwen3", {});
  ASSERT_TRUE(report.has_value()) << report.error().message();
  ASSERT_EQ(report->benchmarks.size(), 4u);
  const auto& b = report->benchmarks;
  EXPECT_EQ(b[0].run.strategy.type, StrategyType::kSynchronous);
  EXPECT_EQ(b[1].run.strategy.type, StrategyType::kThroughput);
  EXPECT_EQ(b[1].run.strategy.in_flight_limit(), 4);
  const double slow = b[0].metrics.requests_per_second.successful.mean;
  const double fast = b[1].metrics.requests_per_second.successful.mean;
  // linspace(slow, fast, 3)[1:]: the midpoint, then the throughput rate.
  EXPECT_EQ(b[2].run.strategy.type, StrategyType::kConstant);
  EXPECT_NEAR(b[2].run.strategy.rate, (slow + fast) / 2, 1e-9);
  EXPECT_NEAR(b[3].run.strategy.rate, fast, 1e-9);
  EXPECT_EQ(report->profile["completed_strategies"].size(), 4u);
}

}  // namespace
}  // namespace kvtier::bench
