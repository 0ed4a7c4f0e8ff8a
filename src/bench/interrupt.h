#pragma once
// Ctrl-C (SIGINT) and SIGTERM during `kvtier bench`. The first one only raises a flag: the
// running benchmark stops issuing requests and cancels those in flight, and the session writes
// what finished before the process exits with 128 + the signal. A second one ends the process at
// once (the outputs on disk still hold the last complete state: they are replaced atomically).
#include <atomic>
#include <string>

namespace kvtier::bench {

// 0 until interrupted, then the signal's number. Written once by a signal handler; read by the
// session and the runner (any thread) to stop early.
using InterruptFlag = std::atomic<int>;

class SignalInterrupt {
 public:
  // Installs the SIGINT and SIGTERM handlers for this object's lifetime (one at a time).
  SignalInterrupt();
  ~SignalInterrupt();
  SignalInterrupt(const SignalInterrupt&) = delete;
  SignalInterrupt& operator=(const SignalInterrupt&) = delete;

  const InterruptFlag& flag() const;
};

// "SIGINT", "SIGTERM", else "signal N".
std::string signal_name(int signal);

}  // namespace kvtier::bench
