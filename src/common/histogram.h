#pragma once
// A cumulative histogram with fixed upper bounds, as Prometheus exposes them. Thread-safe
// observe() and snapshot(), so the engine or server thread records and /metrics reads.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kvtier {

struct HistogramSnapshot {
  std::vector<double> bounds;         // upper bounds, ascending; +Inf is implicit
  std::vector<uint64_t> counts;       // per bucket (not cumulative), bounds.size() + 1 entries
  double sum = 0.0;
  uint64_t count = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  HistogramSnapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  HistogramSnapshot data_;
};

}  // namespace kvtier
