#pragma once
// A child process of eval (serve, route, bench, monitor) in its own process group, so that
// stopping it reaches everything it started, and a terminal's Ctrl-C reaches eval alone, which
// then stops its children in order. Each child also dies with eval (PR_SET_PDEATHSIG), so a
// killed eval leaves no engine holding a port. Owned and touched by eval's main thread only.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace kvtier::eval {

class ChildProcess {
 public:
  // Starts argv[0] with stdout and stderr appended to `log` (a new file).
  static Expected<ChildProcess> spawn(const std::vector<std::string>& argv,
                                      const std::filesystem::path& log);
  // Takes over a child already forked into its own group.
  static ChildProcess adopt(pid_t pid) { return ChildProcess(pid); }

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // kills the group if it still runs

  pid_t pid() const { return pid_; }
  bool running();
  // Exit code (128 + signal when killed) once ended.
  std::optional<int> exit_code() const { return exit_code_; }
  void signal_group(int sig);
  // Waits up to `timeout` for the end; nullopt if it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // `first` (SIGTERM or SIGINT) to the group, SIGKILL after `grace`; returns the exit code.
  int stop(int first, std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

struct Captured {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv to its end (killed after `timeout`, or once `cancel` returns true), capturing its
// output.
Expected<Captured> run_capture(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout,
                               const std::function<bool()>& cancel = {});

// The last `lines` lines of a text file, for error messages.
std::string tail_lines(const std::filesystem::path& file, int lines);

}  // namespace kvtier::eval
