// The --dry-run text and the duration estimate.
#include <fmt/format.h>

#include "eval/cell_runner.h"
#include "eval/commands.h"
#include "eval/eval_run.h"
#include "eval/progress.h"

namespace kvtier::eval {
namespace {

namespace fs = std::filesystem;

// Beyond max_seconds, each level ramps up and drains; each cell starts and stops its engines
// (a GPU engine loads weights and captures graphs: longer).
constexpr double kLevelOverheadS = 3;
constexpr double kCellOverheadCpuS = 8;
constexpr double kCellOverheadCudaS = 45;
constexpr double kUnboundedLevelS = 60;  // a level ended by max_requests only

}  // namespace

double estimate_cell_seconds(const Experiment& e, const Cell& c) {
  const WorkloadSpec& w = *e.find_workload(c.workload);
  const double level = w.max_seconds ? *w.max_seconds : kUnboundedLevelS;
  const double cell = e.target ? 5 : e.device == "cuda" ? kCellOverheadCudaS : kCellOverheadCpuS;
  return w.levels() * (level + kLevelOverheadS) + cell + e.seconds_between_cells;
}

std::string describe_plan(const Experiment& e, const std::vector<Cell>& cells,
                          const std::string& kvtier, const fs::path& out,
                          const fs::path& model_cache) {
  std::string text = fmt::format(
      "experiment {} ({}): {} cells ({} models x {} workloads x {} arms x {} repeats), "
      "baseline {}, device {}\noutput folder: {}\n",
      e.name, e.file.string(), cells.size(), e.models.size(), e.workloads.size(),
      expand_arms(e).size(), e.repeats, e.baseline, e.device, out.string());
  if (e.target) {
    text += fmt::format("target: {} (metrics: ", e.target->url);
    for (size_t i = 0; i < e.target->metrics.size(); ++i) {
      text += (i ? ", " : "") + e.target->metrics[i];
    }
    text += "); no servers are started\n";
  } else {
    text += fmt::format("topology: {} engine(s){}\n", e.topology.engines,
                        e.topology.router ? " behind kvtier route" : "");
    for (const auto& m : e.models) {
      if (!m.preset.empty() && !m.load_format_dummy) {
        const fs::path dir = model_cache / m.preset;
        text += fmt::format("model {}: {}\n", m.name,
                            fs::exists(dir / "config.json")
                                ? fmt::format("{} (made before)", dir.string())
                                : shell_join(make_model_command(kvtier, m, dir)) +
                                      "  (before the first cell)");
      } else {
        text += fmt::format("model {}: {}{}\n", m.name, model_argument(m, model_cache),
                            m.load_format_dummy ? " (--load-format dummy)" : "");
      }
    }
  }
  const char* monitor = e.monitor.enabled == MonitorMode::kOff  ? "off"
                        : e.monitor.enabled == MonitorMode::kOn ? "on"
                                                                : "auto (on when available)";
  text += fmt::format("monitor: {}\nports: PORT<i> and ROUTER_PORT are free ports chosen per cell\n",
                      monitor);
  double total = 0;
  for (const auto& c : cells) {
    const ModelSpec& m = *e.find_model(c.model);
    const WorkloadSpec& w = *e.find_workload(c.workload);
    const double estimate = estimate_cell_seconds(e, c);
    total += estimate;
    text += fmt::format("\ncell {}/{} {}  (~{}, {} level(s))\n", c.order + 1, cells.size(), c.id,
                        format_duration(estimate), w.levels());
    const fs::path dir = cell_dir(out, c);
    std::string target;
    std::vector<std::string> metrics;
    if (e.target) {
      target = e.target->url;
      metrics = e.target->metrics;
    } else {
      std::vector<std::string> urls;
      for (int i = 0; i < e.topology.engines; ++i) {
        const std::string port = fmt::format("PORT{}", i);
        urls.push_back("http://127.0.0.1:" + port);
        metrics.push_back(urls.back() + "/metrics");
        text += "  serve:   " +
                shell_join(serve_command(kvtier, e, m, model_cache, c.arm, w, port)) + "\n";
      }
      target = urls.front();
      if (e.topology.router) {
        text += "  router:  " +
                shell_join(route_command(kvtier, e, m, model_cache, urls, "ROUTER_PORT")) + "\n";
        target = "http://127.0.0.1:ROUTER_PORT";
      }
    }
    if (e.monitor.enabled != MonitorMode::kOff) {
      std::vector<std::string> scrapes;
      for (size_t i = 0; i < metrics.size(); ++i) {
        scrapes.push_back(fmt::format("{}{}={}", e.target ? "target" : "engine", i, metrics[i]));
      }
      text += "  monitor: " +
              shell_join(monitor_command(kvtier, dir / "monitor", e.monitor.interval_s, scrapes,
                                         e.device == "cuda" ? "auto" : "off")) +
              "\n";
    }
    text += "  bench:   " + shell_join(bench_command(kvtier, w, target, dir / "benchmarks.json")) +
            "\n";
  }
  text += fmt::format(
      "\nafter the last cell: {}\nestimated duration: {} ({} cells; per cell: levels x "
      "(max_seconds + {:g} s) + {:g} s to start and stop the engines)\n",
      shell_join(report_command(kvtier, out)), format_duration(total), cells.size(),
      kLevelOverheadS, e.target ? 5.0 : e.device == "cuda" ? kCellOverheadCudaS : kCellOverheadCpuS);
  return text;
}

}  // namespace kvtier::eval
