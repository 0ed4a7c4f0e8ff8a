#include "eval/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

namespace kvtier::eval {
namespace {

int decode_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// After fork(), only async-signal-safe calls until exec: everything is prepared beforehand.
[[noreturn]] void exec_child(char* const* argv, int out_fd, pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // eval died before prctl took effect
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  ::execvp(argv[0], argv);  // a bare name (--kvtier kvtier) is looked up on PATH
  const char msg[] = "exec failed\n";
  (void)!::write(2, msg, sizeof(msg) - 1);
  ::_exit(127);
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Expected<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                           const std::filesystem::path& log) {
  if (argv.empty()) return invalid_argument("no command to run");
  std::vector<std::string> args = argv;
  std::vector<char*> cargv = c_argv(args);
  int fd = ::open(log.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return not_found("{}: cannot create the log: {}", log.string(), std::strerror(errno));
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return internal_error("fork for {}: {}", argv[0], std::strerror(errno));
  }
  if (pid == 0) exec_child(cargv.data(), fd, parent);
  // Also from the parent, so the group exists before anyone signals it.
  ::setpgid(pid, pid);
  ::close(fd);
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), exit_code_(other.exit_code_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && running()) stop(SIGKILL, std::chrono::milliseconds(0));
    pid_ = other.pid_;
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && running()) stop(SIGKILL, std::chrono::milliseconds(0));
}

bool ChildProcess::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    // Whatever the child left in its group goes with it.
    ::kill(-pid_, SIGKILL);
    return false;
  }
  return r == 0;
}

void ChildProcess::signal_group(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(-pid_, sig);
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

int ChildProcess::stop(int first, std::chrono::milliseconds grace) {
  if (!running()) return exit_code_.value_or(-1);
  signal_group(first);
  if (auto code = wait_for(grace)) return *code;
  signal_group(SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) exit_code_ = decode_status(status);
  return exit_code_.value_or(-1);
}

Expected<Captured> run_capture(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout,
                               const std::function<bool()>& cancel) {
  if (argv.empty()) return invalid_argument("no command to run");
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return internal_error("pipe: {}", std::strerror(errno));
  std::vector<std::string> args = argv;
  std::vector<char*> cargv = c_argv(args);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return internal_error("fork for {}: {}", argv[0], std::strerror(errno));
  }
  if (pid == 0) exec_child(cargv.data(), pipefd[1], parent);
  ::setpgid(pid, pid);
  ::close(pipefd[1]);
  ChildProcess child = ChildProcess::adopt(pid);
  Captured out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (cancel && cancel())) break;
    pollfd p{pipefd[0], POLLIN, 0};
    int ready = ::poll(&p, 1, int(std::min<int64_t>(left.count(), 200)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = ::read(pipefd[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    out.output.append(buffer, size_t(n));
  }
  ::close(pipefd[0]);
  const bool cancelled = cancel && cancel();
  auto code = cancelled ? std::nullopt : child.wait_for(std::max(std::chrono::milliseconds(0),
                                      std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now())));
  out.exit_code = code ? *code : child.stop(SIGKILL, std::chrono::milliseconds(0));
  return out;
}

std::string tail_lines(const std::filesystem::path& file, int lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (int(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

}  // namespace kvtier::eval
