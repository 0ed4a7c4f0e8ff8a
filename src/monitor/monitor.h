#pragma once
// `kvtier monitor`: every interval, one archive record of the system (/proc), the GPUs (NVML)
// and each scrape target's metrics, until the duration ends or `stop` is set. The archive is
// finished (pmiEnd) on every way out; each record is on disk once written.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "monitor/gpu_source.h"
#include "monitor/scrape_target.h"

namespace kvtier::monitor {

struct MonitorOptions {
  std::string archive;
  double interval_s = 1.0;
  double duration_s = 0.0;  // 0: until stopped
  std::vector<ScrapeTarget> targets;
  double scrape_timeout_s = 0.0;  // 0: half the interval
  std::string proc_root = "/";
  bool gpu = true;
  // Opens the GPU source; default open_nvml(). Tests pass a fake.
  std::function<Expected<std::unique_ptr<GpuSource>>()> open_gpu;
  // Where the start line, warnings and the end line go; default stderr.
  std::function<void(const std::string&)> log;
  // Called after each record is on disk with the number written so far (tests follow progress).
  std::function<void(int records)> on_record;
};

// The monitor's own CPU time (its thread's user + system seconds) by what it spent it on, so
// its cost to the machine it watches can be checked and attributed.
struct MonitorCpu {
  double scrape_s = 0.0;       // HTTP GETs of the scrape targets
  double system_s = 0.0;       // reading /proc and /sys
  double gpu_s = 0.0;          // NVML queries
  double openmetrics_s = 0.0;  // parsing scraped text into archive values
  double write_s = 0.0;        // libpcp_import writing the record
  double total() const { return scrape_s + system_s + gpu_s + openmetrics_s + write_s; }
};

struct MonitorStats {
  int records = 0;
  int failed_scrapes = 0;
  MonitorCpu cpu;
};

// Runs on the calling thread; `stop` (non-zero: stop, e.g. the signal number) may be set from a
// signal handler or another thread.
Expected<MonitorStats> run_monitor(const MonitorOptions& options, const std::atomic<int>& stop);

}  // namespace kvtier::monitor
