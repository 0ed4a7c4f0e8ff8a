#pragma once
// Time for the offload tier's transfer accounting (seconds per direction in ConnectorStats).
// Injected so tests can make transfer times exact; transfer worker threads call now(), so every
// implementation must be thread-safe.
#include <chrono>

namespace kvtier::kv {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds on a monotonic scale; only differences mean anything.
  virtual double now() = 0;
};

class SteadyClock final : public Clock {
 public:
  double now() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// The process-wide steady clock, for callers that inject nothing.
inline Clock& steady_clock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace kvtier::kv
