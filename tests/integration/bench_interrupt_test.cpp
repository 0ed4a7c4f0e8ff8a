// The real `kvtier bench` (KVTIER_BIN) against the scripted OpenAI server, stopped during its
// second of three benchmarks: by SIGINT or SIGTERM (the finished benchmark is kept and the cut
// one recorded apart, exit 130 / 143), by SIGKILL (the file on disk still holds the finished
// benchmark), and by a second SIGINT while the first is still being honoured (exit at once).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bench/scripted_server.h"

namespace kvtier::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `kvtier bench ARGS` as a child process, its stdout and stderr in files.
class BenchProcess {
 public:
  BenchProcess(const fs::path& dir, std::vector<std::string> args) {
    stdout_ = dir / "bench.stdout";
    stderr_ = dir / "bench.stderr";
    args.insert(args.begin(), {KVTIER_BIN, "bench"});
    // Everything the child needs is prepared before fork(): it only calls async-signal-safe
    // functions until exec.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int out = ::open(stdout_.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    const int err = ::open(stderr_.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(err);
  }
  ~BenchProcess() {
    if (!exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void signal(int sig) { ::kill(pid_, sig); }
  std::string out() const { return read_all(stdout_); }
  std::string err() const { return read_all(stderr_); }

  // The exit code (128 + signal when killed), once it exits within `timeout`.
  std::optional<int> wait_exit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_ && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  fs::path stdout_, stderr_;
  std::optional<int> exit_code_;
};

// Polls `ready` every 50 ms until it holds or `timeout` passes.
template <typename F>
bool eventually(F ready, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return ready();
}

std::vector<std::string> hidden_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) names.push_back(e.path().string());
  }
  return names;
}

class BenchInterruptTest : public ::testing::Test {
 protected:
  // Benchmark 1 (1 stream) sends requests 0-3, all quick; benchmark 2 (2 streams) gets quick
  // answers for requests 4 and 5, then requests 6 and 7 stall (600 s to the first token), so
  // the run is surely in benchmark 2, with 2 done and 2 in flight, when a signal comes.
  void SetUp() override {
    ScriptedServerOptions options;
    options.threads = 2;
    options.script = [](const nlohmann::json&, int64_t index) {
      ScriptedReply r;
      r.itl_s = 0.001;
      if (index >= 6) r.ttft_s = 600;
      return r;
    };
    server_ = std::move(ScriptedServer::start(options)).value();
    dir_ = fs::temp_directory_path() /
           ("kvtier_bench_interrupt_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<BenchProcess> start_bench() {
    return std::make_unique<BenchProcess>(
        dir_, std::vector<std::string>{"--target", server_->url(), "--profile", "concurrent",
                                       "--rate", "1,2,3", "--max-requests", "4",
                                       "--max-seconds", "300", "--data",
                                       "prompt_tokens=8,output_tokens=4", "--output-dir",
                                       dir_.string(), "--disable-progress"});
  }

  // Benchmark 1 is on disk and benchmark 2 has its two stalled requests in flight.
  ::testing::AssertionResult wait_inside_benchmark_two(BenchProcess& bench) {
    const bool ready = eventually(
        [&] {
          if (server_->completion_requests() < 8) return false;
          std::ifstream in(dir_ / "benchmarks.json");
          if (!in) return false;
          return nlohmann::json::parse(in)["benchmarks"].size() == 1;
        },
        180s);
    if (ready) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "benchmark 2 never reached its stalled requests; requests: "
           << server_->completion_requests() << "\nstdout:\n"
           << bench.out() << "\nstderr:\n"
           << bench.err();
  }

  nlohmann::json results() const {
    std::ifstream in(dir_ / "benchmarks.json");
    return nlohmann::json::parse(in);
  }

  // The signal `sig` during benchmark 2: exit 128 + sig, benchmark 1 kept, benchmark 2 apart.
  void interrupt_during_benchmark_two(int sig, const std::string& name) {
    auto bench = start_bench();
    ASSERT_TRUE(wait_inside_benchmark_two(*bench));
    bench->signal(sig);
    const auto code = bench->wait_exit(120s);
    ASSERT_TRUE(code.has_value()) << "kvtier bench did not exit after " << name;
    EXPECT_EQ(*code, 128 + sig) << bench->err();
    EXPECT_EQ(server_->completion_requests(), 8);  // nothing sent after the signal

    const auto json = results();
    EXPECT_EQ(json["metadata"]["state"], "interrupted");
    EXPECT_EQ(json["metadata"]["interrupted"], true);
    EXPECT_EQ(json["metadata"]["interrupted_by"], name);
    ASSERT_EQ(json["benchmarks"].size(), 1u);
    const auto& first = json["benchmarks"][0];
    EXPECT_EQ(first["config"]["strategy"]["streams"], 1);
    EXPECT_EQ(first["metrics"]["request_totals"]["successful"], 4);
    EXPECT_EQ(first["metrics"]["request_totals"]["incomplete"], 0);
    const auto& cut = json["metadata"]["interrupted_benchmark"];
    EXPECT_EQ(cut["config"]["strategy"]["streams"], 2);
    EXPECT_EQ(cut["kvtier"]["stop_reason"], "interrupted by " + name);
    EXPECT_EQ(cut["metrics"]["request_totals"]["successful"], 2);
    EXPECT_EQ(cut["metrics"]["request_totals"]["incomplete"], 2);
    EXPECT_EQ(json["args"]["rate"], nlohmann::json({1.0, 2.0, 3.0}));
    EXPECT_EQ(json["args"]["model"], "scripted-model");

    // The CSV holds the finished benchmark only.
    const std::string csv = read_all(dir_ / "benchmarks.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << csv;
    EXPECT_TRUE(hidden_files(dir_).empty());

    const std::string out = bench->out();
    EXPECT_NE(out.find("Benchmark 1/3 done: concurrent@1 "), std::string::npos) << out;
    EXPECT_EQ(out.find("Benchmark 2/3 done"), std::string::npos) << out;
    const std::string err = bench->err();
    EXPECT_NE(err.find("interrupted by " + name + " during benchmark 2/3 (concurrent@2); wrote 1 "
                       "finished benchmark to " +
                       (dir_ / "benchmarks.json").string()),
              std::string::npos)
        << err;
  }

  std::unique_ptr<ScriptedServer> server_;
  fs::path dir_;
};

TEST_F(BenchInterruptTest, SigintKeepsTheFinishedBenchmarkAndExits130) {
  interrupt_during_benchmark_two(SIGINT, "SIGINT");
}

TEST_F(BenchInterruptTest, SigtermKeepsTheFinishedBenchmarkAndExits143) {
  interrupt_during_benchmark_two(SIGTERM, "SIGTERM");
}

TEST_F(BenchInterruptTest, SigkillLeavesAValidFileWithTheFinishedBenchmark) {
  auto bench = start_bench();
  ASSERT_TRUE(wait_inside_benchmark_two(*bench));
  bench->signal(SIGKILL);
  const auto code = bench->wait_exit(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGKILL);
  const auto json = results();
  EXPECT_EQ(json["metadata"]["state"], "running");  // never finished, never marked otherwise
  EXPECT_EQ(json["metadata"]["interrupted"], false);
  ASSERT_EQ(json["benchmarks"].size(), 1u);
  EXPECT_EQ(json["benchmarks"][0]["metrics"]["request_totals"]["successful"], 4);
  const std::string csv = read_all(dir_ / "benchmarks.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << csv;
  EXPECT_TRUE(hidden_files(dir_).empty());
}

TEST_F(BenchInterruptTest, ASecondSigintExitsAtOnce) {
  // A target that accepts connections and never answers: the server check before the first
  // benchmark waits out its timeout (here 120 s), so the first SIGINT cannot end the run soon.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  BenchProcess bench(dir_, {"--target", url, "--profile", "concurrent", "--rate", "1",
                            "--max-requests", "4", "--data", "prompt_tokens=8,output_tokens=4",
                            "--backend-kwargs", R"({"timeout_connect": 110})", "--output-dir",
                            dir_.string(), "--disable-progress"});
  // Its connection arrives once the signal handlers are in place (they precede the check).
  pollfd p{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 180'000), 1) << "kvtier bench never connected\n" << bench.err();
  const int connection = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(connection, 0);

  bench.signal(SIGINT);
  // The first SIGINT waits for the server check to give up.
  EXPECT_FALSE(bench.wait_exit(1s).has_value()) << bench.err();
  bench.signal(SIGINT);
  const auto code = bench.wait_exit(60s);
  ASSERT_TRUE(code.has_value()) << "a second SIGINT did not end kvtier bench";
  EXPECT_EQ(*code, 130);
  EXPECT_FALSE(fs::exists(dir_ / "benchmarks.json"));  // nothing had finished
  EXPECT_TRUE(hidden_files(dir_).empty());
  ::close(connection);
  ::close(listener);
}

}  // namespace
}  // namespace kvtier::bench
