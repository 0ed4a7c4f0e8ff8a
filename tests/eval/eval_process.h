#pragma once
// Runs the built `kvtier` (KVTIER_BIN) as a child for the eval tests, output to a log file.
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/serve_process.h"

namespace kvtier::eval::testing {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  try {
    return nlohmann::json::parse(in);
  } catch (...) {
    return nullptr;
  }
}

// A folder of its own under the build tree, emptied first.
inline std::filesystem::path scratch_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(KVTIER_BINARY_DIR) / "test-fixtures" /
                 ("eval-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class KvtierProcess {
 public:
  KvtierProcess(std::vector<std::string> args, std::filesystem::path log) : log_(std::move(log)) {
    args.insert(args.begin(), KVTIER_BIN);
    pid_ = server::testing::spawn_logged(std::move(args), log_);
  }
  ~KvtierProcess() {
    if (!code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  std::string log() const { return read_text(log_); }
  void signal(int sig) { ::kill(pid_, sig); }

  // The exit code (128 + signal if killed), or nullopt after `timeout`.
  std::optional<int> wait(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!code_ && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return code_;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<int> code_;
};

}  // namespace kvtier::eval::testing
