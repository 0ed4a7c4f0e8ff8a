#pragma once
// What `kvtier bench` prints: a live progress line while a benchmark runs (only on a terminal)
// and GuideLLM-style summary tables at the end.
#include <cstdio>
#include <string>

#include "bench/bench_report.h"

namespace kvtier::bench {

// The benchmarks' info, latency and throughput tables.
std::string format_summary_tables(const BenchReport& report);

// One line for a finished benchmark (report.benchmarks[i]): counts, rates, median TTFT, ITL and
// latency, and why it stopped. Printed as each benchmark ends when there is no progress line
// (logs, CI), so a long run shows its results as they come.
std::string format_benchmark_line(const BenchReport& report, size_t i);
// What an interrupted run wrote, for the line printed before exiting.
std::string format_interrupted_line(const BenchReport& report);

class ProgressLine {
 public:
  // Draws only when `enabled` and stdout is a terminal.
  explicit ProgressLine(bool enabled);
  void update(size_t benchmark, size_t planned, const std::string& label,
              std::optional<double> max_seconds, const ProgressSnapshot& s);
  // Ends the line so later output starts clean.
  void finish();
  // Whether the line is drawn at all (a terminal and not disabled).
  bool active() const { return active_; }

 private:
  bool active_;
  bool drawn_ = false;
};

}  // namespace kvtier::bench
