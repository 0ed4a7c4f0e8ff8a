#include "bench/interrupt.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include "bench/atomic_file.h"

namespace kvtier::bench {
namespace {

// Process-wide because signal handlers are; std::atomic<int> is lock-free, so the handler may
// touch it.
InterruptFlag g_signal{0};
struct sigaction g_previous_int, g_previous_term;

void on_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // The second signal: no more waiting for the session to wind down.
    remove_pending_temp_file();
    ::_exit(128 + sig);
  }
}

}  // namespace

SignalInterrupt::SignalInterrupt() {
  g_signal.store(0);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  // Restarted system calls: the client's and writer's calls go on until the flag is read.
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &action, &g_previous_int);
  ::sigaction(SIGTERM, &action, &g_previous_term);
}

SignalInterrupt::~SignalInterrupt() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
}

const InterruptFlag& SignalInterrupt::flag() const {
  return g_signal;
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return fmt::format("signal {}", signal);
}

}  // namespace kvtier::bench
