#pragma once
// A PCP archive written through libpcp_import. Each write() ends one record and flushes it to
// disk, so an archive whose writer was killed holds every record written before (pmlogextract
// drops a torn last record); finish() writes the trailer (pmiEnd).
//
// libpcp_import keeps one "current" context per process: each writer selects its own before
// every call, and one thread at a time may use writers.
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "monitor/metric_desc.h"

namespace kvtier::monitor {

class ArchiveWriter {
 public:
  // Refuses an existing archive (see check_archive_absent()).
  static Expected<std::unique_ptr<ArchiveWriter>> create(const std::string& archive);
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  const std::string& archive() const { return archive_; }

  // Adding a metric or instance twice is a no-op; new ones may come between records.
  Status add_metric(const MetricDesc& desc);
  bool has_metric(const std::string& name) const { return descs_.contains(name); }
  Status add_instance(const MetricDesc& desc, int id, const std::string& name);

  // One value of the record being built; `instance` is empty for singular metrics.
  Status put(const std::string& metric, const std::string& instance, double value);
  Status put(const std::string& metric, const std::string& instance, uint64_t value);
  Status put_string(const std::string& metric, const std::string& instance,
                    const std::string& value);

  // Writes the record built so far at `unix_seconds`; one with no values writes nothing.
  Status write(double unix_seconds);
  int records() const { return records_; }

  // pmiEnd: the trailer, then the files are closed and the in-progress marker removed.
  Status finish();

 private:
  ArchiveWriter(std::string archive, int context);
  Status select() const;

  std::string archive_;
  int context_;
  bool finished_ = false;
  int pending_ = 0;
  int records_ = 0;
  std::unordered_map<std::string, MetricDesc> descs_;
  std::set<std::pair<int64_t, int>> instances_;  // (domain << 32 | indom serial, id)
};

// The archive's files: ARCHIVE.0, ARCHIVE.meta, ARCHIVE.index (and the marker a running
// writer keeps beside them: ARCHIVE.writing, holding its pid).
std::string archive_marker_path(const std::string& archive);

// Ok when no file of `archive` exists. Otherwise an error that says whether a writer was
// killed before finishing it and how to recover its data (pmlogcheck, pmlogextract).
Status check_archive_absent(const std::string& archive);

}  // namespace kvtier::monitor
