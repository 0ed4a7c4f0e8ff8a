#pragma once
// What `kvtier report` shows of a monitor archive for one benchmark level: averages over a
// time window, read back through libpcp's archive API (the same path pmrep takes).
#include <optional>
#include <string>

#include "common/status.h"

namespace kvtier::monitor {

// Each reading is empty when the archive holds no values of its metric in the window (a
// machine without NVML, a GPU whose driver does not report PCIe throughput, a window shorter
// than two CPU samples): "not recorded", which is not the same as 0.
struct WindowSummary {
  std::optional<double> cpu_busy_percent;  // of all cores: 100 = every core busy all the time
  std::optional<double> mem_used_bytes;    // mean of mem.util.used
  std::optional<double> gpu_util_percent;  // mean over samples and GPUs of nvidia.gpuactive
  std::optional<double> gpu_mem_used_bytes;  // mean over samples of nvidia.memused summed over GPUs
  std::optional<double> pcie_tx_bytes_per_s;  // mean over samples of nvidia.pcie.tx_bytes, summed over GPUs
  std::optional<double> pcie_rx_bytes_per_s;
  bool has_gpu = false;  // any nvidia.* value in the window
  int samples = 0;  // records in the window with system metrics
};

// Averages over the records with t0 <= time <= t1 (unix seconds). CPU busy comes from the
// kernel.all.cpu.* counters' increase between the first and last record of the window:
// everything but idle and iowait over all of it. An error names the archive and says why
// (unreadable, no records in the window).
Expected<WindowSummary> summarize_archive(const std::string& archive, double t0_unix,
                                          double t1_unix);

// The archive's first and last record times (unix seconds).
Expected<std::pair<double, double>> archive_time_range(const std::string& archive);

}  // namespace kvtier::monitor
