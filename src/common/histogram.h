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

// An empty histogram over `bounds` (sorted here), and one observation into it: for an owner that
// needs no lock (one thread records, copies are read elsewhere).
HistogramSnapshot empty_histogram(std::vector<double> bounds);
void observe(HistogramSnapshot& h, double value);

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
