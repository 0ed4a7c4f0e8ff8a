#include "monitor/archive_summary.h"

#include <pcp/pmapi.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <vector>

namespace kvtier::monitor {
namespace {

// One archive context, destroyed on every way out. libpcp's "current context" is
// process-wide: the summary runs on one thread at a time.
class ArchiveContext {
 public:
  explicit ArchiveContext(const std::string& archive)
      : handle_(pmNewContext(PM_CONTEXT_ARCHIVE, archive.c_str())) {}
  ~ArchiveContext() {
    if (handle_ >= 0) pmDestroyContext(handle_);
  }
  int handle() const { return handle_; }

 private:
  int handle_;
};

enum Metric {
  kCpuUser, kCpuNice, kCpuSys, kCpuIdle, kCpuWait, kCpuIrqHard, kCpuIrqSoft, kCpuSteal,
  kMemUsed, kGpuActive, kGpuMemUsed, kPcieTx, kPcieRx, kMetricCount
};
const char* const kNames[kMetricCount] = {
    "kernel.all.cpu.user", "kernel.all.cpu.nice", "kernel.all.cpu.sys",
    "kernel.all.cpu.idle", "kernel.all.cpu.wait.total", "kernel.all.cpu.irq.hard",
    "kernel.all.cpu.irq.soft", "kernel.all.cpu.steal", "mem.util.used",
    "nvidia.gpuactive", "nvidia.memused", "nvidia.pcie.tx_bytes", "nvidia.pcie.rx_bytes"};

pmUnits units(int dim_space, int dim_time, int scale_space, int scale_time) {
  pmUnits u{};
  u.dimSpace = dim_space;
  u.dimTime = dim_time;
  u.scaleSpace = scale_space;
  u.scaleTime = scale_time;
  return u;
}

double seconds(const struct timeval& tv) { return double(tv.tv_sec) + tv.tv_usec * 1e-6; }

// Sum and count of a metric's values in one fetched record, converted to `want` units.
struct Values {
  double sum = 0;
  int count = 0;
};

Values extract(const pmValueSet* vs, const pmDesc& desc, pmUnits want) {
  Values out;
  for (int j = 0; j < vs->numval; ++j) {
    pmAtomValue in{}, converted{};
    if (pmExtractValue(vs->valfmt, &vs->vlist[j], desc.type, &in, PM_TYPE_DOUBLE) < 0) continue;
    if (pmConvScale(PM_TYPE_DOUBLE, &in, &desc.units, &converted, &want) < 0) continue;
    out.sum += converted.d;
    ++out.count;
  }
  return out;
}

// libpcp's archive API reads pcp.conf on first use and exits the process when it cannot
// (a machine with the libraries but not the `pcp` package, e.g. a GPU machine running a
// bundle). Its own lookup order: $PCP_CONF, else $PCP_DIR/etc/pcp.conf, else /etc/pcp.conf.
Status check_pcp_config(const std::string& archive) {
  std::string path = "/etc/pcp.conf";
  if (const char* conf = std::getenv("PCP_CONF"); conf && *conf) {
    path = conf;
  } else if (const char* dir = std::getenv("PCP_DIR"); dir && *dir) {
    path = std::string(dir) + "/etc/pcp.conf";
  }
  if (access(path.c_str(), R_OK) != 0) {
    return make_error(ErrorCode::kUnavailable,
        "archive {}: PCP's configuration {} is not readable (install the pcp package, or set "
        "PCP_CONF to a pcp.conf)",
        archive, path);
  }
  return Status::ok();
}

}  // namespace

Expected<std::pair<double, double>> archive_time_range(const std::string& archive) {
  KVTIER_RETURN_IF_ERROR(check_pcp_config(archive));
  ArchiveContext ctx(archive);
  if (ctx.handle() < 0) {
    return not_found("archive {}: cannot open: {}", archive, pmErrStr(ctx.handle()));
  }
  pmLogLabel label{};
  int rc = pmGetArchiveLabel(&label);
  if (rc < 0) return data_loss("archive {}: no label: {}", archive, pmErrStr(rc));
  struct timeval end {};
  rc = pmGetArchiveEnd(&end);
  if (rc < 0) return data_loss("archive {}: no end: {}", archive, pmErrStr(rc));
  return std::make_pair(seconds(label.ll_start), seconds(end));
}

Expected<WindowSummary> summarize_archive(const std::string& archive, double t0, double t1) {
  if (!(t1 >= t0)) return invalid_argument("archive {}: window end {} before start {}", archive, t1, t0);
  KVTIER_RETURN_IF_ERROR(check_pcp_config(archive));
  ArchiveContext ctx(archive);
  if (ctx.handle() < 0) {
    return not_found("archive {}: cannot open: {}", archive, pmErrStr(ctx.handle()));
  }
  std::vector<pmID> pmids(kMetricCount, PM_ID_NULL);
  std::vector<pmDesc> descs(kMetricCount);
  std::vector<pmID> wanted;
  for (int m = 0; m < kMetricCount; ++m) {
    const char* name = kNames[m];
    if (pmLookupName(1, &name, &pmids[m]) < 0 || pmLookupDesc(pmids[m], &descs[m]) < 0) {
      pmids[m] = PM_ID_NULL;
      continue;
    }
    wanted.push_back(pmids[m]);
  }
  if (pmids[kCpuUser] == PM_ID_NULL && pmids[kMemUsed] == PM_ID_NULL) {
    return data_loss("archive {}: no system metrics (kernel.all.cpu.*, mem.util.used)", archive);
  }
  struct timeval from {};
  from.tv_sec = static_cast<time_t>(std::floor(t0));
  from.tv_usec = static_cast<suseconds_t>((t0 - std::floor(t0)) * 1e6);
  int rc = pmSetMode(PM_MODE_FORW, &from, 0);
  if (rc < 0) return data_loss("archive {}: pmSetMode: {}", archive, pmErrStr(rc));

  const pmUnits kms = units(0, 1, 0, PM_TIME_MSEC);
  const pmUnits kbyte = units(1, 0, PM_SPACE_BYTE, 0);
  const pmUnits kbyte_rate = units(1, -1, PM_SPACE_BYTE, PM_TIME_SEC);
  const pmUnits knone = units(0, 0, 0, 0);
  WindowSummary w;
  double first_busy = NAN, first_total = NAN, last_busy = NAN, last_total = NAN;
  double mem_sum = 0, gpu_util_sum = 0, gpu_mem_sum = 0, tx_sum = 0, rx_sum = 0;
  int mem_n = 0, gpu_util_n = 0, gpu_samples = 0, tx_n = 0, rx_n = 0;
  while (true) {
    pmResult* result = nullptr;
    rc = pmFetch(static_cast<int>(wanted.size()), wanted.data(), &result);
    if (rc == PM_ERR_EOL) break;
    if (rc < 0) return data_loss("archive {}: pmFetch: {}", archive, pmErrStr(rc));
    const double t = seconds(result->timestamp);
    if (t > t1 + 1e-6) {
      pmFreeResult(result);
      break;
    }
    Values v[kMetricCount];
    for (int i = 0; i < result->numpmid; ++i) {
      const pmValueSet* vs = result->vset[i];
      for (int m = 0; m < kMetricCount; ++m) {
        if (pmids[m] != vs->pmid || vs->numval <= 0) continue;
        const pmUnits& want = m <= kCpuSteal ? kms
                              : m == kMemUsed || m == kGpuMemUsed ? kbyte
                              : m == kPcieTx || m == kPcieRx      ? kbyte_rate
                                                                  : knone;
        v[m] = extract(vs, descs[m], want);
      }
    }
    pmFreeResult(result);
    if (t < t0 - 1e-6) continue;
    bool system = false;
    if (v[kCpuUser].count && v[kCpuIdle].count) {
      double busy = 0, total = 0;
      for (int m = kCpuUser; m <= kCpuSteal; ++m) {
        total += v[m].sum;
        if (m != kCpuIdle && m != kCpuWait) busy += v[m].sum;
      }
      if (std::isnan(first_busy)) {
        first_busy = busy;
        first_total = total;
      }
      last_busy = busy;
      last_total = total;
      system = true;
    }
    if (v[kMemUsed].count) {
      mem_sum += v[kMemUsed].sum;
      ++mem_n;
      system = true;
    }
    if (system) ++w.samples;
    if (v[kGpuActive].count) {
      gpu_util_sum += v[kGpuActive].sum;
      gpu_util_n += v[kGpuActive].count;
    }
    if (v[kGpuMemUsed].count) {
      gpu_mem_sum += v[kGpuMemUsed].sum;
      ++gpu_samples;
    }
    if (v[kPcieTx].count) {
      tx_sum += v[kPcieTx].sum;
      ++tx_n;
    }
    if (v[kPcieRx].count) {
      rx_sum += v[kPcieRx].sum;
      ++rx_n;
    }
  }
  if (w.samples == 0) {
    return not_found("archive {}: no system samples between {:.3f} and {:.3f}", archive, t0, t1);
  }
  if (last_total > first_total) {
    w.cpu_busy_percent = 100.0 * (last_busy - first_busy) / (last_total - first_total);
  }
  if (mem_n) w.mem_used_bytes = mem_sum / mem_n;
  w.has_gpu = gpu_util_n > 0 || gpu_samples > 0 || tx_n > 0 || rx_n > 0;
  if (gpu_util_n) w.gpu_util_percent = gpu_util_sum / gpu_util_n;
  if (gpu_samples) w.gpu_mem_used_bytes = gpu_mem_sum / gpu_samples;
  if (tx_n) w.pcie_tx_bytes_per_s = tx_sum / tx_n;
  if (rx_n) w.pcie_rx_bytes_per_s = rx_sum / rx_n;
  return w;
}

}  // namespace kvtier::monitor
