#pragma once
// What `kvtier bench` prints: a live progress line while a benchmark runs (only on a terminal)
// and GuideLLM-style summary tables at the end.
#include <cstdio>
#include <string>

#include "bench/bench_report.h"

namespace kvtier::bench {

// The benchmarks' info, latency and throughput tables.
std::string format_summary_tables(const BenchReport& report);

class ProgressLine {
 public:
  // Draws only when `enabled` and stdout is a terminal.
  explicit ProgressLine(bool enabled);
  void update(size_t benchmark, size_t planned, const std::string& label,
              std::optional<double> max_seconds, const ProgressSnapshot& s);
  // Ends the line so later output starts clean.
  void finish();

 private:
  bool active_;
  bool drawn_ = false;
};

}  // namespace kvtier::bench
