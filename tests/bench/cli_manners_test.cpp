// The real `kvtier` binary (KVTIER_BIN): usage errors of any subcommand exit with 2 and a
// mistyped flag or subcommand gets a "did you mean" hint; and `kvtier bench` end to end against
// the scripted server with a YAML --data file, the throughput profile and html/yaml outputs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/scripted_server.h"
#include "test_support.h"

extern char** environ;

namespace kvtier::bench {
namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `kvtier ARGS` to completion (120 s at most) with stdout and stderr in files.
Result kvtier(const std::vector<std::string>& args) {
  static int calls = 0;
  const fs::path dir = testing::fresh_temp_dir("cli_" + std::to_string(++calls));
  std::vector<std::string> argv_s = {KVTIER_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir / "out").c_str(), O_CREAT | O_WRONLY | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, (dir / "err").c_str(), O_CREAT | O_WRONLY | O_TRUNC,
                                   0644);
  pid_t pid = -1;
  Result r;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    r.err = "cannot start " + argv_s[0] + " (build the kvtier target first)";
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_all(dir / "out");
  r.err = read_all(dir / "err");
  fs::remove_all(dir);
  return r;
}

TEST(CliManners, AMistypedFlagGetsTheClosestNameAndExitStatus2) {
  auto r = kvtier({"bench", "--target", "http://127.0.0.1:1", "--data", "prompt_tokens=8",
                   "--max-secnds", "30"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--max-secnds: did you mean --max-seconds?"), std::string::npos) << r.err;

  auto eq = kvtier({"bench", "--rate-typ=concurrent"});
  EXPECT_EQ(eq.exit_code, 2);
  EXPECT_NE(eq.err.find("--rate-typ: did you mean --rate-type?"), std::string::npos) << eq.err;

  auto report = kvtier({"report", "a.json", "b.json", "--nmes", "x,y"});
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_NE(report.err.find("--nmes: did you mean --names?"), std::string::npos) << report.err;

  // Nothing close: no guess, still a usage error.
  auto far = kvtier({"tokenize", "--completely-unrelated-option", "x"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;

  auto sub = kvtier({"benhc", "--target", "x"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_NE(sub.err.find("benhc: did you mean bench?"), std::string::npos) << sub.err;
}

TEST(CliManners, EveryUsageErrorExitsWith2) {
  // A malformed value for a typed flag (CLI11's conversion error).
  auto typed = kvtier({"bench", "--max-seconds", "soon"});
  EXPECT_EQ(typed.exit_code, 2) << typed.err;
  // A flag missing its value.
  auto missing = kvtier({"report", "--out"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  // The command's own checks (bench: --rate for throughput).
  auto bench = kvtier({"bench", "--target", "http://127.0.0.1:1", "--data", "prompt_tokens=8",
                       "--profile", "throughput", "--max-seconds", "1"});
  EXPECT_EQ(bench.exit_code, 2);
  EXPECT_NE(bench.err.find("--profile throughput needs the concurrency cap"), std::string::npos)
      << bench.err;
  // No subcommand at all.
  EXPECT_EQ(kvtier({}).exit_code, 2);
  // Help is not an error.
  auto help = kvtier({"bench", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--max-error-rate"), std::string::npos);
  EXPECT_NE(help.out.find("--rampup"), std::string::npos);
}

TEST(CliManners, BenchRunsFromAYamlDataFileAndWritesHtmlAndYaml) {
  ScriptedServerOptions options;
  options.script = [](const nlohmann::json& body, int64_t) {
    ScriptedReply r;
    r.itl_s = 0.001;
    r.prompt_tokens = ScriptedServer::count_prompt_words(body);
    return r;
  };
  auto server = std::move(ScriptedServer::start(options)).value();
  const fs::path dir = testing::fresh_temp_dir("cli_yaml_run");
  const fs::path data = dir / "data.yaml";
  std::ofstream(data) << "# the workload\nprompt_tokens: 24\noutput_tokens: 4\nturns: 2\n"
                      << "prefix_buckets:\n  - prefix_tokens: 16\n    prefix_count: 2\n"
                      << "unused_key: 3\n";
  auto r =
      kvtier({"bench", "run", "--target", server->url(), "--data", data.string(), "--rate-type",
              "throughput", "--rate", "3", "--max-requests", "6", "--rampup", "0.1", "--output-dir",
              (dir / "out").string(), "--outputs", "json,html,yaml", "--disable-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.err.find("warning: --data: ignoring unknown key 'unused_key'"), std::string::npos)
      << r.err;
  // The bundled tokenizer, since the scripted model is not a local folder; the line says why.
  EXPECT_NE(r.out.find("Tokenizer for prompts: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the bundled Qwen3 tokenizer"), std::string::npos) << r.out;

  const auto json = nlohmann::json::parse(read_all(dir / "out" / "benchmarks.json"));
  EXPECT_EQ(json["args"]["data"][0], data.string());
  EXPECT_EQ(json["args"]["data_config"]["prompt_tokens"], 24);
  EXPECT_EQ(json["args"]["data_config"]["turns"], 2);
  EXPECT_EQ(json["args"]["data_config"]["prefix_buckets"][0]["prefix_count"], 2);
  EXPECT_EQ(json["benchmarks"][0]["config"]["strategy"]["max_concurrency"], 3);
  EXPECT_EQ(json["benchmarks"][0]["config"]["strategy"]["rampup_duration"], 0.1);
  EXPECT_EQ(json["benchmarks"][0]["metrics"]["request_totals"]["successful"], 6);

  // The page `kvtier report` renders for this file.
  const std::string html = read_all(dir / "out" / "benchmarks.html");
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>") || html.starts_with("<html"))
      << html.substr(0, 80);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  const std::string yaml = read_all(dir / "out" / "benchmarks.yaml");
  EXPECT_NE(yaml.find("\nbenchmarks:\n"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvtier::bench
