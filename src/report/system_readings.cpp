#include "report/system_readings.h"

#include <fmt/format.h>

#include <cmath>

#include "monitor/archive_summary.h"

namespace kvtier::report {

std::string cell_archive(const std::filesystem::path& cell_dir) {
  const std::filesystem::path base = cell_dir / "monitor";
  for (const char* suffix : {".meta", ".index", ".0"}) {
    std::error_code ec;
    if (std::filesystem::exists(base.string() + suffix, ec)) return base.string();
  }
  return "";
}

void read_system_readings(RunInput& run, const std::string& archive,
                          std::vector<std::string>& warnings) {
  run.system.clear();
  // An archive that does not open says so once, not once per level.
  if (auto range = monitor::archive_time_range(archive); !range) {
    warnings.push_back(fmt::format("{}: monitor archive unreadable, no system metrics: {}",
                                   run.name, range.error().message()));
    return;
  }
  std::string missed, first_error;
  for (const auto& level : run.results.levels) {
    std::optional<SystemReading> reading;
    if (!std::isfinite(level.start_time) || !std::isfinite(level.end_time)) {
      if (first_error.empty()) first_error = "benchmarks.json has no start_time/end_time";
    } else if (auto w = monitor::summarize_archive(archive, level.start_time, level.end_time); !w) {
      if (first_error.empty()) first_error = w.error().message();
    } else {
      reading = *w;
    }
    if (!reading) missed += fmt::format("{}{:g}", missed.empty() ? "" : ", ", level.level);
    run.system.push_back(reading);
  }
  if (!missed.empty()) {
    warnings.push_back(fmt::format("{}: no system metrics at level {} ({})", run.name, missed,
                                   first_error));
  }
}

SystemMetrics system_statistics(const std::vector<const SystemReading*>& readings) {
  std::vector<double> cpu, mem, gpu_util, gpu_mem, tx, rx;
  int archives = 0;
  auto add = [](std::vector<double>& to, const std::optional<double>& value) {
    if (value) to.push_back(*value);
  };
  for (const SystemReading* r : readings) {
    if (!r) continue;
    ++archives;
    add(cpu, r->cpu_busy_percent);
    add(mem, r->mem_used_bytes);
    add(gpu_util, r->gpu_util_percent);
    add(gpu_mem, r->gpu_mem_used_bytes);
    add(tx, r->pcie_tx_bytes_per_s);
    add(rx, r->pcie_rx_bytes_per_s);
  }
  SystemMetrics s;
  s.archives = archives;
  auto fill = [](std::optional<Estimate>& out, const std::vector<double>& values) {
    if (!values.empty()) out = estimate(values);
  };
  fill(s.cpu_busy_percent, cpu);
  fill(s.mem_used_bytes, mem);
  fill(s.gpu_util_percent, gpu_util);
  fill(s.gpu_mem_used_bytes, gpu_mem);
  fill(s.pcie_tx_bytes_per_s, tx);
  fill(s.pcie_rx_bytes_per_s, rx);
  return s;
}

}  // namespace kvtier::report
