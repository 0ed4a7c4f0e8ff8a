#include "eval/cell_runner.h"

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "eval/child_process.h"
#include "eval/commands.h"
#include "eval/http_get.h"
#include "eval/interrupt.h"
#include "eval/metrics_delta.h"

namespace kvtier::eval {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Why a cell stops early: an error to record, or an interrupt to leave the cell "running".
struct Stop {
  bool interrupted = false;
  std::string error;
};

std::string indexed(const std::string& stem, size_t i, size_t n, const std::string& ext) {
  return n > 1 ? fmt::format("{}.{}{}", stem, i, ext) : stem + ext;
}

bool is_local_url(const std::string& url) {
  for (const char* host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (url.rfind(host, 0) == 0) return true;
  }
  return false;
}

int benchmarks_written(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return 0;
  try {
    nlohmann::json doc = nlohmann::json::parse(in);
    return doc.contains("benchmarks") && doc["benchmarks"].is_array()
               ? int(doc["benchmarks"].size())
               : 0;
  } catch (const nlohmann::json::exception&) {
    return 0;  // being rewritten right now
  }
}

// Everything one cell starts, in start order; stopped in reverse by stop_all().
class CellRun {
 public:
  CellRun(const Experiment& e, const RunSettings& s, const Cell& c, const LevelProgress& progress)
      : e_(e), s_(s), c_(c), progress_(progress), dir_(cell_dir(s.out, c)) {}

  CellResult run();

 private:
  std::optional<Stop> prepare();
  std::optional<Stop> start_engines();
  std::optional<Stop> wait_healthy(ChildProcess* process, const std::string& url,
                                   const fs::path& log, const std::string& what,
                                   seconds timeout);
  void snapshot(const std::string& when, std::vector<std::string>& texts);
  void start_monitor();
  std::optional<Stop> run_bench();
  void stop_all();
  void write_record() { write_json_atomic(dir_ / "cell.json", record_); }

  const Experiment& e_;
  const RunSettings& s_;
  const Cell& c_;
  const LevelProgress& progress_;
  fs::path dir_;
  nlohmann::json record_;
  std::string target_;
  std::vector<std::string> engine_urls_;
  std::vector<std::string> metrics_urls_;
  std::vector<ChildProcess> servers_;
  std::optional<ChildProcess> router_;
  std::optional<ChildProcess> monitor_;
  std::vector<std::string> before_, after_;
  int levels_done_ = 0;
};

std::optional<Stop> CellRun::prepare() {
  std::error_code ec;
  fs::remove_all(dir_, ec);  // a rerun starts from scratch
  fs::create_directories(dir_, ec);
  if (ec) return Stop{false, fmt::format("cannot create {}: {}", dir_.string(), ec.message())};
  record_ = cell_json(c_);
  record_["status"] = "running";
  record_["started_at"] = unix_now();
  record_["finished_at"] = nullptr;
  record_["device"] = e_.device;
  record_["versions"] = s_.versions;
  record_["hardware"] = s_.hardware;
  record_["server_commands"] = nlohmann::json::array();
  record_["router_command"] = nullptr;
  record_["monitor_command"] = nullptr;
  record_["metrics_delta"] = nullptr;

  const ModelSpec& model = *e_.find_model(c_.model);
  if (e_.target) {
    target_ = e_.target->url;
    metrics_urls_ = e_.target->metrics;
  } else {
    const int engines = e_.topology.engines;
    auto ports = free_ports(engines + (e_.topology.router ? 1 : 0));
    if (!ports) return Stop{false, ports.error().message()};
    for (int i = 0; i < engines; ++i) {
      const std::string url = fmt::format("http://127.0.0.1:{}", (*ports)[size_t(i)]);
      engine_urls_.push_back(url);
      metrics_urls_.push_back(url + "/metrics");
      record_["server_commands"].push_back(
          serve_command(s_.kvtier, e_, model, s_.model_cache, c_.arm,
                        *e_.find_workload(c_.workload), std::to_string((*ports)[size_t(i)])));
    }
    target_ = engine_urls_.front();
    if (e_.topology.router) {
      const int port = ports->back();
      record_["router_command"] = route_command(s_.kvtier, e_, model, s_.model_cache,
                                                engine_urls_, std::to_string(port));
      target_ = fmt::format("http://127.0.0.1:{}", port);
    }
  }
  record_["target"] = target_;
  record_["bench_command"] =
      bench_command(s_.kvtier, *e_.find_workload(c_.workload), target_, dir_ / "benchmarks.json");
  write_record();
  return std::nullopt;
}

std::optional<Stop> CellRun::wait_healthy(ChildProcess* process, const std::string& url,
                                          const fs::path& log, const std::string& what,
                                          seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (interrupt_requested()) return Stop{true, ""};
    auto reply = http_get(url + "/health", seconds(5));
    if (reply && reply->status == 200) return std::nullopt;
    if (process && !process->running()) {
      return Stop{false, fmt::format("{} exited with {} before it was healthy; the end of {}:\n{}",
                                     what, process->exit_code().value_or(-1), log.string(),
                                     tail_lines(log, 20))};
    }
    if (Clock::now() >= deadline) {
      std::string tail = log.empty() ? "" : fmt::format("; the end of {}:\n{}", log.string(),
                                                        tail_lines(log, 20));
      return Stop{false, fmt::format("{} at {} was not healthy after {} s ({}){}", what, url,
                                     timeout.count(),
                                     reply ? fmt::format("/health returned {}", reply->status)
                                           : reply.error().message(),
                                     tail)};
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
}

std::optional<Stop> CellRun::start_engines() {
  if (e_.target) {
    return wait_healthy(nullptr, target_, {}, "the target", std::min(s_.health_timeout, seconds(60)));
  }
  const auto& commands = record_["server_commands"];
  for (size_t i = 0; i < commands.size(); ++i) {
    const fs::path log = dir_ / indexed("server", i, commands.size(), ".log");
    auto child = ChildProcess::spawn(commands[i].get<std::vector<std::string>>(), log);
    if (!child) return Stop{false, child.error().message()};
    servers_.push_back(std::move(*child));
  }
  // The engines load in parallel; each is waited for in turn.
  for (size_t i = 0; i < servers_.size(); ++i) {
    const fs::path log = dir_ / indexed("server", i, servers_.size(), ".log");
    const std::string what = servers_.size() > 1 ? fmt::format("engine {}", i) : "the engine";
    if (auto stop = wait_healthy(&servers_[i], engine_urls_[i], log, what, s_.health_timeout)) {
      return stop;
    }
  }
  if (!record_["router_command"].is_null()) {
    const fs::path log = dir_ / "router.log";
    auto child = ChildProcess::spawn(record_["router_command"].get<std::vector<std::string>>(), log);
    if (!child) return Stop{false, child.error().message()};
    router_ = std::move(*child);
    return wait_healthy(&*router_, target_, log, "the router", seconds(60));
  }
  return std::nullopt;
}

void CellRun::snapshot(const std::string& when, std::vector<std::string>& texts) {
  texts.clear();
  for (size_t i = 0; i < metrics_urls_.size(); ++i) {
    auto reply = http_get(metrics_urls_[i], seconds(10));
    const fs::path file = dir_ / indexed("metrics-" + when, i, metrics_urls_.size(), ".txt");
    std::ofstream out(file);
    if (reply && reply->status == 200) {
      out << reply->body;
      texts.push_back(reply->body);
    } else {
      // A deployment without /metrics still gets benchmarked; the delta is then null.
      out << "# " << metrics_urls_[i] << ": "
          << (reply ? fmt::format("HTTP {}", reply->status) : reply.error().message()) << "\n";
    }
  }
  if (texts.size() != metrics_urls_.size()) texts.clear();
}

void CellRun::start_monitor() {
  if (!s_.monitor) return;
  std::vector<std::string> scrapes;
  for (size_t i = 0; i < metrics_urls_.size(); ++i) {
    // The monitor scrapes this machine only; a remote target's system is not this one's.
    if (!is_local_url(metrics_urls_[i])) continue;
    scrapes.push_back(fmt::format("{}{}={}", e_.target ? "target" : "engine", i, metrics_urls_[i]));
  }
  auto argv = monitor_command(s_.kvtier, dir_ / "monitor", e_.monitor.interval_s, scrapes,
                              e_.device == "cuda" ? "auto" : "off");
  record_["monitor_command"] = argv;
  auto child = ChildProcess::spawn(argv, dir_ / "monitor.log");
  if (child) monitor_ = std::move(*child);
  write_record();
}

std::optional<Stop> CellRun::run_bench() {
  const WorkloadSpec& w = *e_.find_workload(c_.workload);
  const fs::path log = dir_ / "bench.log";
  auto child = ChildProcess::spawn(record_["bench_command"].get<std::vector<std::string>>(), log);
  if (!child) return Stop{false, child.error().message()};
  // A level that never ends (a hung engine) must not hold the whole experiment.
  const double per_level = w.max_seconds ? *w.max_seconds + 120 : 3600;
  const auto deadline = Clock::now() + seconds(int64_t(w.levels() * per_level + 300));
  auto next_look = Clock::now();
  while (child->running()) {
    if (interrupt_requested()) {
      child->stop(SIGINT, seconds(15));  // bench keeps the levels it finished
      return Stop{true, ""};
    }
    if (Clock::now() >= deadline) {
      child->stop(SIGINT, seconds(15));
      return Stop{false, fmt::format("bench ran past its deadline; the end of {}:\n{}",
                                     log.string(), tail_lines(log, 20))};
    }
    if (Clock::now() >= next_look) {
      levels_done_ = benchmarks_written(dir_ / "benchmarks.json");
      if (progress_) progress_(levels_done_);
      next_look = Clock::now() + seconds(1);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  levels_done_ = benchmarks_written(dir_ / "benchmarks.json");
  if (progress_) progress_(levels_done_);
  const int code = child->exit_code().value_or(-1);
  if (code != 0) {
    return Stop{false, fmt::format("bench exited with {}; the end of {}:\n{}", code, log.string(),
                                   tail_lines(log, 20))};
  }
  if (!fs::exists(dir_ / "benchmarks.json")) {
    return Stop{false, "bench wrote no benchmarks.json; see " + log.string()};
  }
  return std::nullopt;
}

// The monitor first (its archive ends while the engines still answer), then the router, then
// the engines: all asked at once, each waited for.
void CellRun::stop_all() {
  if (monitor_) monitor_->stop(SIGINT, seconds(15));
  if (router_) router_->stop(SIGTERM, s_.stop_timeout);
  for (auto& server : servers_) server.signal_group(SIGTERM);
  for (auto& server : servers_) server.stop(SIGTERM, s_.stop_timeout);
}

CellResult CellRun::run() {
  const auto start = Clock::now();
  CellResult result;
  std::optional<Stop> stop = prepare();
  if (!stop) stop = start_engines();
  if (!stop) {
    snapshot("before", before_);
    start_monitor();
    stop = run_bench();
    if (!stop || !stop->interrupted) snapshot("after", after_);
  }
  stop_all();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.levels_done = levels_done_;
  if (stop && stop->interrupted) {
    // Left "running": --resume reruns it.
    result.status = CellStatus::kInterrupted;
    return result;
  }
  record_["finished_at"] = unix_now();
  record_["metrics_delta"] = metrics_delta(before_, after_);
  if (stop) {
    record_["status"] = "failed";
    record_["error"] = fmt::format("cell {}: {}", c_.id, stop->error);
    result.status = CellStatus::kFailed;
    result.error = record_["error"].get<std::string>();
  } else {
    record_["status"] = "complete";
    result.status = CellStatus::kComplete;
  }
  write_record();
  return result;
}

}  // namespace

fs::path cell_dir(const fs::path& out, const Cell& c) {
  return out / "cells" / c.model / c.workload / c.arm.name / fmt::format("r{}", c.repeat);
}

std::string read_cell_status(const fs::path& out, const Cell& c) {
  std::ifstream in(cell_dir(out, c) / "cell.json");
  if (!in) return "";
  try {
    nlohmann::json doc = nlohmann::json::parse(in);
    return doc.value("status", "");
  } catch (const nlohmann::json::exception&) {
    return "";
  }
}

CellResult run_cell(const Experiment& e, const RunSettings& s, const Cell& c,
                    const LevelProgress& progress) {
  return CellRun(e, s, c, progress).run();
}

bool write_json_atomic(const fs::path& path, const nlohmann::json& doc) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return false;
    out << doc.dump(2) << "\n";
    if (!out) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

}  // namespace kvtier::eval
