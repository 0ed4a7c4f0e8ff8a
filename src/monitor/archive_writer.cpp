#include "monitor/archive_writer.h"

#include <pcp/pmapi.h>
#include <pcp/import.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace kvtier::monitor {
namespace {

namespace fs = std::filesystem;

int pm_type(ValueType t) {
  switch (t) {
    case ValueType::kU32:
      return PM_TYPE_U32;
    case ValueType::kU64:
      return PM_TYPE_U64;
    case ValueType::kFloat:
      return PM_TYPE_FLOAT;
    case ValueType::kDouble:
      return PM_TYPE_DOUBLE;
    case ValueType::kString:
      return PM_TYPE_STRING;
  }
  return PM_TYPE_DOUBLE;
}

int pm_sem(Semantics s) {
  switch (s) {
    case Semantics::kCounter:
      return PM_SEM_COUNTER;
    case Semantics::kInstant:
      return PM_SEM_INSTANT;
    case Semantics::kDiscrete:
      return PM_SEM_DISCRETE;
  }
  return PM_SEM_INSTANT;
}

pmInDom pm_indom(const MetricDesc& d) {
  return d.indom == kNoInDom ? PM_INDOM_NULL : pmInDom_build(d.domain, d.indom);
}

bool pid_alive(long pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

}  // namespace

std::string archive_marker_path(const std::string& archive) { return archive + ".writing"; }

Status check_archive_absent(const std::string& archive) {
  std::string present;
  for (const char* suffix : {".meta", ".index", ".0"}) {
    if (fs::exists(archive + suffix)) present += (present.empty() ? "" : ", ") + archive + suffix;
  }
  const std::string marker = archive_marker_path(archive);
  if (present.empty()) {
    if (fs::exists(marker)) fs::remove(marker);  // killed before its first record: nothing lost
    return Status::ok();
  }
  if (fs::exists(marker)) {
    long pid = 0;
    std::ifstream(marker) >> pid;
    if (pid_alive(pid) && pid != getpid()) {
      return make_error(ErrorCode::kAlreadyExists,
                        "archive {} is being written by process {} ({})", archive, pid, marker);
    }
    return make_error(
        ErrorCode::kAlreadyExists,
        "archive {} was not finished: the monitor writing it (pid {}) ended without closing it, "
        "killed or crashed ({} is still there). Every record it wrote is readable as is "
        "(`pminfo -a {} ...`, `pmrep -a {} ...`); `pmlogcheck {}` reports a torn last record, and "
        "`pmlogextract {} {}-recovered` copies the records into a finished archive without it. "
        "Then remove {}.* or choose another --archive.",
        archive, pid, marker, archive, archive, archive, archive, archive, archive);
  }
  return make_error(ErrorCode::kAlreadyExists,
                    "archive {} already exists ({}): choose another --archive or remove those files",
                    archive, present);
}

Expected<std::unique_ptr<ArchiveWriter>> ArchiveWriter::create(const std::string& archive) {
  if (archive.empty()) return invalid_argument("--archive: an archive path is required");
  KVTIER_RETURN_IF_ERROR(check_archive_absent(archive));
  const fs::path parent = fs::path(archive).parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    return not_found("archive {}: folder {} does not exist", archive, parent.string());
  }
  {
    std::ofstream marker(archive_marker_path(archive));
    if (!marker) return invalid_argument("archive {}: cannot write {}", archive,
                                         archive_marker_path(archive));
    marker << getpid() << "\n";
  }
  const int context = pmiStart(archive.c_str(), 0);
  if (context < 0) {
    fs::remove(archive_marker_path(archive));
    return internal_error("archive {}: pmiStart: {}", archive, pmiErrStr(context));
  }
  return std::unique_ptr<ArchiveWriter>(new ArchiveWriter(archive, context));
}

ArchiveWriter::ArchiveWriter(std::string archive, int context)
    : archive_(std::move(archive)), context_(context) {}

ArchiveWriter::~ArchiveWriter() {
  if (!finished_) (void)finish();
}

Status ArchiveWriter::select() const {
  if (finished_) return internal_error("archive {}: already finished", archive_);
  const int rc = pmiUseContext(context_);
  if (rc < 0) return internal_error("archive {}: pmiUseContext: {}", archive_, pmiErrStr(rc));
  return Status::ok();
}

Status ArchiveWriter::add_metric(const MetricDesc& desc) {
  if (descs_.contains(desc.name)) return Status::ok();
  KVTIER_RETURN_IF_ERROR(select());
  const Units& u = desc.units;
  const int rc = pmiAddMetric(desc.name.c_str(), pmID_build(desc.domain, desc.cluster, desc.item),
                              pm_type(desc.type), pm_indom(desc), pm_sem(desc.semantics),
                              pmiUnits(u.dim_space, u.dim_time, u.dim_count, u.scale_space,
                                       u.scale_time, u.scale_count));
  if (rc < 0) {
    return invalid_argument("archive {}: metric {} ({}.{}.{}): {}", archive_, desc.name,
                            desc.domain, desc.cluster, desc.item, pmiErrStr(rc));
  }
  descs_.emplace(desc.name, desc);
  return Status::ok();
}

Status ArchiveWriter::add_instance(const MetricDesc& desc, int id, const std::string& name) {
  const auto key = std::make_pair((int64_t{desc.domain} << 32) | desc.indom, id);
  if (instances_.contains(key)) return Status::ok();
  KVTIER_RETURN_IF_ERROR(select());
  const int rc = pmiAddInstance(pm_indom(desc), name.c_str(), id);
  if (rc < 0) {
    return invalid_argument("archive {}: instance {} '{}' of {}: {}", archive_, id, name,
                            desc.name, pmiErrStr(rc));
  }
  instances_.insert(key);
  return Status::ok();
}

Status ArchiveWriter::put_string(const std::string& metric, const std::string& instance,
                                 const std::string& value) {
  KVTIER_RETURN_IF_ERROR(select());
  const int rc =
      pmiPutValue(metric.c_str(), instance.empty() ? nullptr : instance.c_str(), value.c_str());
  if (rc < 0) {
    return invalid_argument("archive {}: value {} of {} [{}]: {}", archive_, value, metric,
                            instance, pmiErrStr(rc));
  }
  ++pending_;
  return Status::ok();
}

Status ArchiveWriter::put(const std::string& metric, const std::string& instance, double value) {
  // PCP has no use for NaN or infinities; a missing value is the archive's way to say so.
  if (!std::isfinite(value)) return Status::ok();
  return put_string(metric, instance, fmt::format("{}", value));
}

Status ArchiveWriter::put(const std::string& metric, const std::string& instance,
                          uint64_t value) {
  return put_string(metric, instance, fmt::format("{}", value));
}

Status ArchiveWriter::write(double unix_seconds) {
  if (pending_ == 0) return Status::ok();
  KVTIER_RETURN_IF_ERROR(select());
  double whole = std::floor(unix_seconds);
  int usec = static_cast<int>(std::lround((unix_seconds - whole) * 1e6));
  if (usec >= 1000000) {
    whole += 1;
    usec -= 1000000;
  }
  const int rc = pmiWrite(static_cast<int>(whole), usec);
  pending_ = 0;
  if (rc < 0) {
    return internal_error("archive {}: pmiWrite at {:.6f}: {}", archive_, unix_seconds,
                          pmiErrStr(rc));
  }
  ++records_;
  return Status::ok();
}

Status ArchiveWriter::finish() {
  if (finished_) return Status::ok();
  KVTIER_RETURN_IF_ERROR(select());
  const int rc = pmiEnd();
  finished_ = true;
  std::error_code ec;
  fs::remove(archive_marker_path(archive_), ec);
  if (rc < 0) return internal_error("archive {}: pmiEnd: {}", archive_, pmiErrStr(rc));
  return Status::ok();
}

}  // namespace kvtier::monitor
