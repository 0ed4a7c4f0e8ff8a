#pragma once
// System metrics of an eval cell: the PCP archive `kvtier monitor` wrote beside the cell's
// benchmarks.json (cells/<model>/<workload>/<arm>/r<k>/monitor.{0,meta,index}), averaged over
// each benchmark's [start_time, end_time] by monitor::summarize_archive().
#include <filesystem>
#include <string>
#include <vector>

#include "report/report_model.h"

namespace kvtier::report {

// The archive's base name in a cell folder; "" when the folder has none of its files.
std::string cell_archive(const std::filesystem::path& cell_dir);

// Fills run.system, one entry per run.results.levels. A level without a start and end time, or
// whose window holds no sample, stays nullopt; an archive that cannot be read leaves run.system
// empty. Either adds one line to `warnings` naming `run.name` (the cell) and why: an archive is
// never a reason to refuse the report. libpcp contexts are process-wide: one thread at a time.
void read_system_readings(RunInput& run, const std::string& archive,
                          std::vector<std::string>& warnings);

// Mean +- SE over the readings given (nullptr entries skipped).
SystemMetrics system_statistics(const std::vector<const SystemReading*>& readings);

}  // namespace kvtier::report
