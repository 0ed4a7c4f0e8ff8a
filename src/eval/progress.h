#pragma once
// What eval prints while it runs. On a terminal one live line, redrawn about once a second:
// "cell k/n <id>: level j/m, 1:23 in cell, 12:34 elapsed, ETA 20:00". Otherwise (a log, CI) one
// summary line per finished cell. Main thread only.
#include <chrono>
#include <cstdio>
#include <string>

#include "eval/cell_runner.h"
#include "eval/plan.h"

namespace kvtier::eval {

class Progress {
 public:
  // `estimate_s`: the whole run's estimate, used until cells have finished.
  Progress(int cells, double estimate_s, bool terminal, std::FILE* out = stdout);

  void cell_started(int k, const Cell& c, int levels, double estimate_s);
  void levels(int done);
  void cell_finished(const Cell& c, const CellResult& r);
  void skipped(int k, const Cell& c);

 private:
  void draw();
  double elapsed() const;

  int cells_;
  double estimate_left_s_;   // estimate of the cells not yet started
  double done_estimate_s_ = 0;  // estimates of the finished cells...
  double done_actual_s_ = 0;    // ...and what they took: their ratio scales the ETA
  bool terminal_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point cell_start_;
  std::chrono::steady_clock::time_point last_draw_;
  int k_ = 0;
  std::string id_;
  int levels_ = 0;
  int done_ = 0;
  double cell_estimate_s_ = 0;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace kvtier::eval
