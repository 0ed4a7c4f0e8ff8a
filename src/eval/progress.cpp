#include "eval/progress.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace kvtier::eval {

using Clock = std::chrono::steady_clock;

std::string format_duration(double seconds) {
  const int64_t s = std::max<int64_t>(0, std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Progress::Progress(int cells, double estimate_s, bool terminal, std::FILE* out)
    : cells_(cells), estimate_left_s_(estimate_s), terminal_(terminal), out_(out),
      start_(Clock::now()), cell_start_(start_), last_draw_(start_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void Progress::cell_started(int k, const Cell& c, int levels, double estimate_s) {
  k_ = k;
  id_ = c.id;
  levels_ = levels;
  done_ = 0;
  cell_estimate_s_ = estimate_s;
  estimate_left_s_ = std::max(0.0, estimate_left_s_ - estimate_s);
  cell_start_ = Clock::now();
  if (terminal_) draw();
}

void Progress::levels(int done) {
  done_ = done;
  if (terminal_ && Clock::now() - last_draw_ >= std::chrono::milliseconds(900)) draw();
}

void Progress::draw() {
  last_draw_ = Clock::now();
  const double in_cell = std::chrono::duration<double>(last_draw_ - cell_start_).count();
  // Estimates scaled by how the finished cells compared with theirs.
  const double scale = done_estimate_s_ > 0 ? done_actual_s_ / done_estimate_s_ : 1.0;
  const double eta = std::max(0.0, cell_estimate_s_ * scale - in_cell) + estimate_left_s_ * scale;
  fmt::print(out_, "\r\033[Kcell {}/{} {}: level {}/{}, {} in cell, {} elapsed, ETA {}", k_,
             cells_, id_, std::min(done_ + 1, levels_), levels_, format_duration(in_cell),
             format_duration(elapsed()), format_duration(eta));
  std::fflush(out_);
}

void Progress::cell_finished(const Cell& c, const CellResult& r) {
  done_estimate_s_ += cell_estimate_s_;
  done_actual_s_ += r.seconds;
  if (terminal_) fmt::print(out_, "\r\033[K");
  const char* what = r.status == CellStatus::kComplete   ? "complete"
                     : r.status == CellStatus::kFailed   ? "FAILED"
                                                         : "interrupted";
  fmt::print(out_, "cell {}/{} {}: {} in {} ({}/{} levels; {} elapsed)\n", k_, cells_, c.id, what,
             format_duration(r.seconds), r.levels_done, levels_, format_duration(elapsed()));
  if (r.status == CellStatus::kFailed) {
    std::string first_line = r.error.substr(0, r.error.find('\n'));
    fmt::print(out_, "  error: {}\n", first_line);
  }
  std::fflush(out_);
}

void Progress::skipped(int k, const Cell& c) {
  fmt::print(out_, "cell {}/{} {}: complete before, skipped\n", k, cells_, c.id);
  std::fflush(out_);
}

}  // namespace kvtier::eval
