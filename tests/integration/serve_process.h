#pragma once
// Runs the real `kvtier serve` (KVTIER_BIN) as a child process on the tiny model, for
// integration tests: the model is made once per build folder with `kvtier make-model`, the
// server listens on a free port (read back from its log), and it is stopped with SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kvtier::server::testing {

// The tiny model under the build folder, made on first use. Tests run in parallel processes,
// so creation holds a file lock and publishes the folder with an atomic rename.
inline std::filesystem::path tiny_model_dir() {
  namespace fs = std::filesystem;
  fs::path root = fs::path(KVTIER_BINARY_DIR) / "test-fixtures";
  fs::create_directories(root);
  fs::path dir = root / "tiny-model";
  if (fs::exists(dir / "config.json")) return dir;
  int lock = ::open((root / "tiny-model.lock").c_str(), O_CREAT | O_RDWR, 0644);
  ::flock(lock, LOCK_EX);
  if (!fs::exists(dir / "config.json")) {
    fs::path tmp = root / ("tiny-model.tmp." + std::to_string(::getpid()));
    fs::remove_all(tmp);
    std::string command = std::string(KVTIER_BIN) + " make-model --preset tiny --out " +
                          tmp.string() + " > " + (root / "make-model.log").string() + " 2>&1";
    if (std::system(command.c_str()) == 0 && fs::exists(tmp / "config.json")) {
      fs::remove_all(dir);
      fs::rename(tmp, dir);
    }
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return dir;
}

// Starts `args` (argv[0] a path) as a child whose stdout and stderr go to `log`. Everything the
// child needs is prepared before fork(): it only calls async-signal-safe functions until exec.
inline pid_t spawn_logged(std::vector<std::string> args, const std::filesystem::path& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fd = ::open(log.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

class ServeProcess {
 public:
  // Starts `kvtier serve MODEL --host 127.0.0.1 --port 0 <extra>` and waits until it serves.
  explicit ServeProcess(const std::filesystem::path& model, std::vector<std::string> extra = {},
                        std::chrono::seconds ready_timeout = std::chrono::seconds(180)) {
    namespace fs = std::filesystem;
    log_path_ = fs::path(KVTIER_BINARY_DIR) / "test-fixtures" /
                ("serve-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++) + ".log");
    std::vector<std::string> args = {KVTIER_BIN, "serve", model.string(), "--host",
                                     "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn_logged(std::move(args), log_path_);
    auto deadline = std::chrono::steady_clock::now() + ready_timeout;
    while (std::chrono::steady_clock::now() < deadline && running()) {
      std::string text = log();
      size_t at = text.find("Application startup complete");
      if (at != std::string::npos) {
        size_t colon = text.find("http://127.0.0.1:", at);
        if (colon != std::string::npos) {
          port_ = uint16_t(std::stoi(text.substr(colon + 17)));
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  ~ServeProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool ready() const { return port_ != 0; }
  uint16_t port() const { return port_; }

  // The port the server's KV-event publisher bound, read from its start-up log line; 0 when it
  // logged none. Tests bind `tcp://127.0.0.1:*` so no port is picked, released and re-bound.
  uint16_t kv_events_port() const {
    const std::string text = log();
    const std::string marker = "kv events: publishing on tcp://";
    const size_t at = text.find(marker);
    if (at == std::string::npos) return 0;
    const size_t colon = text.find(':', at + marker.size());
    if (colon == std::string::npos) return 0;
    return uint16_t(std::stoi(text.substr(colon + 1)));
  }
  pid_t pid() const { return pid_; }

  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  bool running() {
    if (exited_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_status_ = status;
      return false;
    }
    return true;
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // The exit code once the process ended within `timeout`; nullopt if it is still running.
  std::optional<int> wait_exit(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited_) return std::nullopt;
    return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : 128 + WTERMSIG(exit_status_);
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool exited_ = false;
  int exit_status_ = 0;
  std::filesystem::path log_path_;
};

}  // namespace kvtier::server::testing
