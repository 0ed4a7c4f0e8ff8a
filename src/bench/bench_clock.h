#pragma once
// Time for request records: the monotonic clock, shifted once onto the Unix scale so results
// read like GuideLLM's (seconds since the epoch) while differences stay exact.
#include <chrono>

namespace kvtier::bench {

class BenchClock {
 public:
  // Seconds since the epoch, advancing with the steady clock.
  static double now() {
    const auto& a = anchor();
    return a.wall +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - a.steady).count();
  }
  static std::chrono::steady_clock::time_point to_steady(double t) {
    const auto& a = anchor();
    return a.steady + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(t - a.wall));
  }

 private:
  struct Anchor {
    std::chrono::steady_clock::time_point steady;
    double wall;
  };
  static const Anchor& anchor() {
    static const Anchor a{
        std::chrono::steady_clock::now(),
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()};
    return a;
  }
};

}  // namespace kvtier::bench
