#include "monitor/monitor.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "common/cpu_time.h"
#include "monitor/archive_writer.h"
#include "monitor/gpu_metrics.h"
#include "monitor/openmetrics_mapper.h"
#include "monitor/proc_reader.h"
#include "monitor/scraper.h"
#include "monitor/system_metrics.h"

namespace kvtier::monitor {
namespace {

using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sleeps until `until`, waking often enough to notice `stop` within ~50 ms.
void sleep_until(Clock::time_point until, const std::atomic<int>& stop) {
  while (stop.load() == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50)));
  }
}

}  // namespace

Expected<MonitorStats> run_monitor(const MonitorOptions& o, const std::atomic<int>& stop) {
  auto log = o.log ? o.log : [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  if (!(o.interval_s >= 0.01)) {
    return invalid_argument("--interval {}: must be at least 10 ms", o.interval_s);
  }
  if (o.duration_s < 0) return invalid_argument("--duration {}: must be >= 0", o.duration_s);

  std::unique_ptr<GpuSource> gpu;
  if (o.gpu) {
    auto opened = o.open_gpu ? o.open_gpu() : open_nvml();
    if (opened) {
      gpu = std::move(*opened);
    } else {
      log(fmt::format("kvtier monitor: no GPU metrics: {}", opened.error().message()));
    }
  }
  KVTIER_ASSIGN_OR_RETURN(auto writer, ArchiveWriter::create(o.archive));
  SystemMetrics system;
  GpuMetrics gpu_metrics;
  KVTIER_RETURN_IF_ERROR(system.declare(*writer));
  if (gpu) KVTIER_RETURN_IF_ERROR(gpu_metrics.declare(*writer, *gpu));
  std::vector<OpenMetricsSource> sources;
  std::string groups = "system (kernel, mem, network, disk)";
  if (gpu) groups += fmt::format(", gpu (nvidia, {} GPUs)", gpu->count());
  for (size_t i = 0; i < o.targets.size(); ++i) {
    sources.emplace_back(o.targets[i].name, static_cast<int>(i));
    groups += fmt::format(", openmetrics.{} ({})", o.targets[i].name, o.targets[i].url);
  }
  log(fmt::format("kvtier monitor: recording {} every {}s to archive {}", groups, o.interval_s,
                  o.archive));

  const long hz = sysconf(_SC_CLK_TCK);
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o.interval_s));
  const double timeout_s = o.scrape_timeout_s > 0 ? o.scrape_timeout_s : o.interval_s / 2;
  const auto scrape_timeout =
      std::chrono::milliseconds(std::max<int64_t>(10, std::llround(timeout_s * 1000)));
  const auto start = Clock::now();
  MonitorStats stats;
  Status status;
  std::vector<size_t> last_skipped(o.targets.size(), 0);
  for (int64_t tick = 0; stop.load() == 0; ++tick) {
    // Far behind (the machine was suspended, the process stopped): resume on the schedule
    // rather than write a burst of records to catch up.
    if (Clock::now() - (start + tick * interval) > 10 * interval) {
      tick = (Clock::now() - start) / interval;
    }
    const auto due = start + tick * interval;
    if (o.duration_s > 0 &&
        std::chrono::duration<double>(due - start).count() > o.duration_s + 1e-9) {
      break;
    }
    sleep_until(due, stop);
    if (stop.load() != 0) break;
    const double now = unix_now();
    // All targets at once, each bounded by half an interval: a slow one delays this record by
    // at most that, and its gap is its own.
    // Each phase's CPU time is charged to its share of stats.cpu.
    double mark = this_thread_cpu_seconds();
    const auto charge = [&mark](double& share) {
      const double t = this_thread_cpu_seconds();
      share += t - mark;
      mark = t;
    };
    std::vector<Expected<std::string>> bodies;
    if (!o.targets.empty()) bodies = scrape_all(o.targets, scrape_timeout);
    charge(stats.cpu.scrape_s);
    status = system.put(*writer, read_system_sample(o.proc_root, hz));
    charge(stats.cpu.system_s);
    if (!status) break;
    if (gpu) {
      std::string warning;
      status = gpu_metrics.put(*writer, *gpu, warning);
      charge(stats.cpu.gpu_s);
      if (!status) break;
      if (!warning.empty()) log("kvtier monitor: warning: GPU: " + warning);
    }
    for (size_t i = 0; i < bodies.size(); ++i) {
      if (!bodies[i]) {
        ++stats.failed_scrapes;
        log(fmt::format("kvtier monitor: warning: scrape {} (gap in openmetrics.{})",
                        bodies[i].error().message(), o.targets[i].name));
        continue;
      }
      size_t skipped = 0;
      if (Status s = sources[i].put(*writer, *bodies[i], skipped); !s) {
        ++stats.failed_scrapes;
        log(fmt::format("kvtier monitor: warning: scrape {} {}: {} (gap in openmetrics.{})",
                        o.targets[i].name, o.targets[i].url, s.message(), o.targets[i].name));
      } else if (skipped != last_skipped[i]) {
        last_skipped[i] = skipped;
        if (skipped > 0) {
          log(fmt::format("kvtier monitor: warning: scrape {}: {} samples skipped (over the caps, "
                          "repeated, or names PCP cannot hold)",
                          o.targets[i].name, skipped));
        }
      }
    }
    charge(stats.cpu.openmetrics_s);
    status = writer->write(now);
    charge(stats.cpu.write_s);
    if (!status) break;
    stats.records = writer->records();
    if (o.on_record) o.on_record(stats.records);
  }
  Status finished = writer->finish();
  if (!status) return status;
  if (!finished) return finished;
  log(fmt::format("kvtier monitor: archive {} finished: {} records", o.archive, stats.records));
  const MonitorCpu& c = stats.cpu;
  log(fmt::format("kvtier monitor: own CPU time {:.3f} s: scrape {:.3f}, system {:.3f}, gpu {:.3f}, "
                  "openmetrics {:.3f}, archive write {:.3f}",
                  c.total(), c.scrape_s, c.system_s, c.gpu_s, c.openmetrics_s, c.write_s));
  return stats;
}

}  // namespace kvtier::monitor
