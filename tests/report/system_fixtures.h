#pragma once
// Monitor archives with known values for eval cells, written through the monitor module's own
// writer (the same metrics, names and units `kvtier monitor` records), and benchmark windows
// that put each level of a cell at a known time.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "monitor/archive_writer.h"
#include "monitor/gpu_metrics.h"
#include "monitor/system_metrics.h"

namespace kvtier::report::testing {

// Level i of every cell runs over [kWindowStart + kWindowGap i, + kWindowLength].
inline constexpr double kWindowStart = 1796616000.0;
inline constexpr double kWindowGap = 100;
inline constexpr double kWindowLength = 30;
inline constexpr double kStep = 10;  // seconds between records
inline constexpr int kNcpu = 2;

// What a cell's machine did during one level.
struct LevelLoad {
  double cpu_busy_percent;  // whole multiple of 0.005 (10 s x 2 CPUs = 20,000 ms a step)
  double mem_gib;
  bool gpu = false;
  double gpu_util_percent = 0;  // the mean of two GPUs at this -10 and +10
  double gpu_mem_gib = 0;       // summed over the two GPUs
  double pcie_rx_gb_s = 0, pcie_tx_gb_s = 0;  // summed over the two GPUs (1 GB = 1e9 bytes)
};

// Sets each benchmark's start_time / end_time in a cell's benchmarks.json to its level's window.
inline void set_level_windows(const std::filesystem::path& benchmarks_json) {
  nlohmann::json j;
  {
    std::ifstream in(benchmarks_json);
    ASSERT_TRUE(in) << benchmarks_json;
    in >> j;
  }
  for (size_t i = 0; i < j["benchmarks"].size(); ++i) {
    j["benchmarks"][i]["start_time"] = kWindowStart + kWindowGap * i;
    j["benchmarks"][i]["end_time"] = kWindowStart + kWindowGap * i + kWindowLength;
  }
  std::ofstream(benchmarks_json) << j.dump();
}

// Two GPUs whose readings the writer loop sets before each record.
class TwoGpus : public monitor::GpuSource {
 public:
  int count() const override { return 2; }
  Expected<monitor::GpuSample> sample(int index) override { return gpus[index]; }
  monitor::GpuSample gpus[2];
};

// Writes ARCHIVE (monitor.0/.meta/.index) with a record every kStep seconds from before the
// first window to after the last. Within level i's window the machine runs loads[i]; between
// windows it is 90% busy with 60 GiB used and a 99%-busy GPU, so a wrong window shows.
// `levels_covered` < loads.size() ends the archive early (later levels have no samples).
inline void write_cell_archive(const std::string& archive, const std::vector<LevelLoad>& loads,
                               size_t levels_covered) {
  using namespace monitor;
  auto w = ArchiveWriter::create(archive);
  ASSERT_TRUE(w) << w.error().message();
  const bool gpu = !loads.empty() && loads[0].gpu;
  monitor::SystemMetrics system;  // not report::SystemMetrics
  GpuMetrics gpu_metrics;
  TwoGpus gpus;
  ASSERT_TRUE(system.declare(**w).is_ok());
  if (gpu) {
    ASSERT_TRUE(gpu_metrics.declare(**w, gpus).is_ok());
  }
  const LevelLoad between = {90, 60, gpu, 99, 70, 9, 9};
  // The level whose window holds time t (inclusive), or nullptr.
  auto load_at = [&](double t) -> const LevelLoad* {
    for (size_t i = 0; i < levels_covered; ++i) {
      const double start = kWindowStart + kWindowGap * i;
      if (t >= start - 1e-6 && t <= start + kWindowLength + 1e-6) return &loads[i];
    }
    return nullptr;
  };
  const double first = kWindowStart - kStep;
  const double last = kWindowStart + kWindowGap * (levels_covered - 1) + kWindowLength + kStep;
  CpuTimes cpu;
  for (double t = first; t <= last + 1e-6; t += kStep) {
    const LevelLoad& now = load_at(t) ? *load_at(t) : between;
    SystemSample s;
    s.cpu = cpu;
    s.ncpu = kNcpu;
    MemoryKb m;
    m.physmem = 128ull << 20;
    m.used = static_cast<uint64_t>(now.mem_gib * (1 << 20));  // KB
    s.memory = m;
    ASSERT_TRUE(system.put(**w, s).is_ok());
    if (gpu) {
      for (int g = 0; g < 2; ++g) {
        GpuSample& x = gpus.gpus[g];
        x.name = "NVIDIA H100 80GB HBM3";
        x.gpu_util = static_cast<uint32_t>(now.gpu_util_percent + (g == 0 ? -10 : 10));
        x.mem_used = static_cast<uint64_t>(now.gpu_mem_gib / 2 * (1ull << 30));
        x.pcie_rx_bytes_per_s = static_cast<uint64_t>(now.pcie_rx_gb_s / 2 * 1e9);
        x.pcie_tx_bytes_per_s = static_cast<uint64_t>(now.pcie_tx_gb_s / 2 * 1e9);
      }
      std::string warning;
      ASSERT_TRUE(gpu_metrics.put(**w, gpus, warning).is_ok());
      ASSERT_EQ(warning, "");
    }
    ASSERT_TRUE((*w)->write(t).is_ok());
    // CPU time spent until the next record: the load of the window holding both ends.
    const LevelLoad* a = load_at(t);
    const LevelLoad* b = load_at(t + kStep);
    const double busy = (a && a == b ? a->cpu_busy_percent : between.cpu_busy_percent) / 100;
    const double total_ms = kStep * 1000 * kNcpu;
    cpu.user += static_cast<uint64_t>(busy * total_ms * 0.75 + 0.5);
    cpu.sys += static_cast<uint64_t>(busy * total_ms * 0.25 + 0.5);
    cpu.idle += static_cast<uint64_t>((1 - busy) * total_ms + 0.5);
  }
  ASSERT_TRUE((*w)->finish().is_ok());
}

}  // namespace kvtier::report::testing

namespace kvtier::report::testing {

inline std::filesystem::path cell_dir(const std::filesystem::path& folder, const std::string& arm,
                                      int repeat) {
  return folder / "cells" / "Qwen3-0.6B" / "seed" / arm / ("r" + std::to_string(repeat));
}

// Gives a written cell level windows and an archive: `load(level index)` per level.
template <typename LoadOf>
void add_cell_archive(const std::filesystem::path& folder, const std::string& arm, int repeat,
                      LoadOf load, size_t levels_covered = 2) {
  const auto dir = cell_dir(folder, arm, repeat);
  set_level_windows(dir / "benchmarks.json");
  std::vector<LevelLoad> loads;
  for (size_t i = 0; i < 2; ++i) loads.push_back(load(i));
  write_cell_archive((dir / "monitor").string(), loads, levels_covered);
}

}  // namespace kvtier::report::testing
