// `kvtier monitor --archive PATH`: PCP archives of the system, the GPUs and scraped engine
// metrics; `kvtier monitor import-bench` and `kvtier monitor summary` beside it.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "bench/interrupt.h"
#include "cli/command.h"
#include "monitor/archive_summary.h"
#include "monitor/bench_import.h"
#include "monitor/monitor.h"

namespace kvtier::cli {
namespace {

constexpr const char* kFooter = R"(
Records one archive record every --interval: system metrics under the linux PMDA's names
(kernel.all.cpu.*, kernel.all.load, mem.*, network.interface.*, disk.all.*), GPU metrics under
the nvidia PMDA's (nvidia.*, when NVML and a GPU are present) and each --scrape target's
Prometheus metrics as the openmetrics PMDA names them (openmetrics.NAME.*). Read it with
pminfo -a, pmrep -a, pmlogsummary, pmdumplog. SIGINT or SIGTERM ends it; the archive is always
finished, and every record written before a SIGKILL stays readable. See docs/monitor.md.)";

struct MonitorArgs {
  std::string archive;
  std::string interval = "1s";
  std::vector<std::string> scrape;
  std::string gpu = "auto";
  double duration = 0;
  std::string proc_root = "/";
  std::string bench_json;
  std::string import_archive;
  std::string summary_archive;
  std::optional<double> from, to;
  bool json = false;
};

// "1s", "500ms", "2" (seconds).
Expected<double> parse_interval(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return invalid_argument("--interval '{}': expected a duration such as 1s or 500ms", text);
  }
  const std::string unit = text.substr(used);
  if (unit == "ms") v /= 1000;
  else if (unit == "m") v *= 60;
  else if (!unit.empty() && unit != "s") {
    return invalid_argument("--interval '{}': unit '{}' is not s, ms or m", text, unit);
  }
  return v;
}

int run_record(const MonitorArgs& a) {
  monitor::MonitorOptions o;
  o.archive = a.archive;
  auto interval = parse_interval(a.interval);
  if (!interval) {
    fmt::print(stderr, "kvtier monitor: {}\n", interval.error().message());
    return 2;
  }
  o.interval_s = *interval;
  o.duration_s = a.duration;
  o.proc_root = a.proc_root;
  if (a.gpu != "auto" && a.gpu != "off") {
    fmt::print(stderr, "kvtier monitor: --gpu '{}': expected auto or off\n", a.gpu);
    return 2;
  }
  o.gpu = a.gpu == "auto";
  for (const auto& spec : a.scrape) {
    auto target = monitor::ScrapeTarget::parse(spec);
    if (!target) {
      fmt::print(stderr, "kvtier monitor: {}\n", target.error().message());
      return 2;
    }
    for (const auto& other : o.targets) {
      if (other.name == target->name) {
        fmt::print(stderr, "kvtier monitor: --scrape name '{}' given twice\n", other.name);
        return 2;
      }
    }
    o.targets.push_back(*target);
  }
  bench::SignalInterrupt signals;
  auto stats = monitor::run_monitor(o, signals.flag());
  if (!stats) {
    fmt::print(stderr, "kvtier monitor: {}\n", stats.error().message());
    return 1;
  }
  return 0;
}

int run_import(const MonitorArgs& a) {
  auto stats = monitor::import_bench(a.bench_json, a.import_archive);
  if (!stats) {
    fmt::print(stderr, "kvtier monitor import-bench: {}\n", stats.error().message());
    return 1;
  }
  fmt::print("Imported {} levels and {} requests of {} into archive {} ({} records)\n",
             stats->levels, stats->requests, a.bench_json, a.import_archive, stats->records);
  return 0;
}

int run_summary(const MonitorArgs& a) {
  double t0 = 0, t1 = 0;
  if (!a.from || !a.to) {
    auto range = monitor::archive_time_range(a.summary_archive);
    if (!range) {
      fmt::print(stderr, "kvtier monitor summary: {}\n", range.error().message());
      return 1;
    }
    t0 = range->first;
    t1 = range->second;
  }
  if (a.from) t0 = *a.from;
  if (a.to) t1 = *a.to;
  auto w = monitor::summarize_archive(a.summary_archive, t0, t1);
  if (!w) {
    fmt::print(stderr, "kvtier monitor summary: {}\n", w.error().message());
    return 1;
  }
  // A reading the archive does not hold is null in JSON and "n/a" on the console, never 0.
  auto json_of = [](const std::optional<double>& v) -> nlohmann::json {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  auto text_of = [](const std::optional<double>& v, double divisor, const char* unit) {
    return v ? fmt::format("{:.2f} {}", *v / divisor, unit) : std::string("n/a");
  };
  if (a.json) {
    const nlohmann::json j = {{"archive", a.summary_archive},
                              {"from", t0},
                              {"to", t1},
                              {"samples", w->samples},
                              {"cpu_busy_percent", json_of(w->cpu_busy_percent)},
                              {"mem_used_bytes", json_of(w->mem_used_bytes)},
                              {"has_gpu", w->has_gpu},
                              {"gpu_util_percent", json_of(w->gpu_util_percent)},
                              {"gpu_mem_used_bytes", json_of(w->gpu_mem_used_bytes)},
                              {"pcie_tx_bytes_per_s", json_of(w->pcie_tx_bytes_per_s)},
                              {"pcie_rx_bytes_per_s", json_of(w->pcie_rx_bytes_per_s)}};
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("archive {}: {:.3f} .. {:.3f} ({} samples)\n", a.summary_archive, t0, t1, w->samples);
  fmt::print("  cpu busy        {}\n", text_of(w->cpu_busy_percent, 1, "%"));
  fmt::print("  memory used     {}\n", text_of(w->mem_used_bytes, 1 << 20, "MiB"));
  if (w->has_gpu) {
    fmt::print("  gpu util        {}\n", text_of(w->gpu_util_percent, 1, "%"));
    fmt::print("  gpu memory used {}\n", text_of(w->gpu_mem_used_bytes, 1 << 20, "MiB"));
    fmt::print("  pcie tx         {}\n", text_of(w->pcie_tx_bytes_per_s, 1e6, "MB/s"));
    fmt::print("  pcie rx         {}\n", text_of(w->pcie_rx_bytes_per_s, 1e6, "MB/s"));
  } else {
    fmt::print("  gpu             none recorded\n");
  }
  return 0;
}

std::function<int()> setup_monitor(CLI::App& app) {
  auto a = std::make_shared<MonitorArgs>();
  app.footer(kFooter);
  app.add_option("--archive", a->archive, "Archive to write (PATH.0, PATH.meta, PATH.index)");
  app.add_option("--interval", a->interval, "Time between records: 1s, 500ms")->capture_default_str();
  app.add_option("--scrape", a->scrape,
                 "NAME=URL of a Prometheus /metrics page on this machine, e.g. "
                 "engine=http://127.0.0.1:8000/metrics (repeatable)");
  app.add_option("--gpu", a->gpu, "auto (NVML when present) or off")->capture_default_str();
  app.add_option("--duration", a->duration, "Seconds to record; 0 until SIGINT/SIGTERM")
      ->capture_default_str();
  app.add_option("--proc-root", a->proc_root, "Root of the /proc tree to read (tests)")
      ->capture_default_str();

  CLI::App* import = app.add_subcommand(
      "import-bench", "A benchmarks.json (kvtier bench or GuideLLM) as bench.* metrics in an archive");
  import->add_option("benchmarks", a->bench_json, "benchmarks.json")->required();
  import->add_option("--archive", a->import_archive, "Archive to write")->required();

  CLI::App* summary = app.add_subcommand(
      "summary", "Averages of CPU, memory, GPU and PCIe over a time window of an archive");
  summary->add_option("archive", a->summary_archive, "Archive written by kvtier monitor")->required();
  summary->add_option("--from", a->from, "Window start, unix seconds (default: archive start)");
  summary->add_option("--to", a->to, "Window end, unix seconds (default: archive end)");
  summary->add_flag("--json", a->json, "One JSON object instead of text");
  app.require_subcommand(0, 1);

  return [a, import, summary]() -> int {
    if (import->parsed()) return run_import(*a);
    if (summary->parsed()) return run_summary(*a);
    if (a->archive.empty()) {
      fmt::print(stderr, "kvtier monitor: --archive PATH is required\n");
      return 2;
    }
    return run_record(*a);
  };
}

}  // namespace

KVTIER_COMMAND("monitor", "PCP archives of the system, GPUs and engine metrics (pmrep-readable)",
               setup_monitor);

}  // namespace kvtier::cli
