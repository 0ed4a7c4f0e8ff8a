#include "eval/eval_run.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cctype>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "eval/cell_runner.h"
#include "eval/child_process.h"
#include "eval/commands.h"
#include "eval/hardware.h"
#include "eval/interrupt.h"
#include "eval/progress.h"

namespace kvtier::eval {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string utc_stamp(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), format, &tm);
  return buffer;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string self_binary() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "kvtier" : p.string();
}

// What a cell runs, in a form two experiment files can be compared by: ids and commands.
nlohmann::json plan_signature(const Experiment& e, const std::vector<Cell>& cells,
                              const std::string& kvtier, const fs::path& out) {
  nlohmann::json sig = nlohmann::json::array();
  for (const auto& c : cells) {
    const ModelSpec& m = *e.find_model(c.model);
    nlohmann::json entry = cell_json(c);
    const WorkloadSpec& w = *e.find_workload(c.workload);
    if (!e.target) entry["serve"] = serve_command(kvtier, e, m, "CACHE", c.arm, w, "PORT");
    entry["bench"] = bench_command(kvtier, w, "TARGET", out);
    sig.push_back(entry);
  }
  return sig;
}

// Checks that OUT holds this experiment (or one with the same plan); prints what differs.
Status check_resume(const Experiment& e, const std::vector<Cell>& cells, const fs::path& out,
                    const std::string& kvtier) {
  const fs::path copy = out / "experiment.yaml";
  if (!fs::exists(copy)) {
    return not_found("--resume: {} has no experiment.yaml: it is not an eval output folder",
                     out.string());
  }
  auto before = load_experiment(copy);
  if (!before) return invalid_argument("--resume: {}", before.error().message());
  const std::string differs = first_difference(before->document, e.document);
  if (differs.empty()) return Status::ok();
  if (plan_signature(*before, make_plan(*before), kvtier, out) ==
      plan_signature(e, cells, kvtier, out)) {
    fmt::print("note: {} differs from {} at '{}', but the plan is the same: resuming\n",
               e.file.string(), copy.string(), differs);
    return Status::ok();
  }
  return invalid_argument(
      "--resume: {} differs from the experiment {} was made with ({}) at '{}', and the plan "
      "changes with it: use a new --out, or the same file",
      e.file.string(), out.string(), copy.string(), differs);
}

Status make_models(const Experiment& e, const std::vector<Cell>& cells, const RunSettings& s) {
  for (const auto& m : e.models) {
    if (m.preset.empty() || m.load_format_dummy) continue;
    bool needed = false;
    for (const auto& c : cells) needed = needed || c.model == m.name;
    const fs::path dir = s.model_cache / m.preset;
    if (!needed || fs::exists(dir / "config.json")) continue;
    std::error_code ec;
    fs::create_directories(s.model_cache, ec);
    // Written aside and renamed, so an interrupted make-model never looks like a model.
    const fs::path tmp = s.model_cache / fmt::format(".{}.tmp.{}", m.preset, ::getpid());
    fs::remove_all(tmp, ec);
    auto argv = make_model_command(s.kvtier, m, tmp);
    fmt::print("making model {}: {}\n", m.name, shell_join(argv));
    std::fflush(stdout);
    auto run = run_capture(argv, std::chrono::hours(2), interrupt_requested);
    if (!run || run->exit_code != 0 || !fs::exists(tmp / "config.json")) {
      fs::remove_all(tmp, ec);
      if (interrupt_requested()) return make_error(ErrorCode::kCancelled, "interrupted");
      return internal_error("model {}: {} failed: {}", m.name, shell_join(argv),
                            run ? run->output : run.error().message());
    }
    fs::rename(tmp, dir, ec);
    if (ec && !fs::exists(dir / "config.json")) {
      return internal_error("model {}: cannot move {} to {}: {}", m.name, tmp.string(),
                            dir.string(), ec.message());
    }
    fs::remove_all(tmp, ec);
  }
  return Status::ok();
}

std::string help_text(const std::string& kvtier, const std::string& command) {
  auto run = run_capture({kvtier, command, "--help"}, seconds(30));
  return run && run->exit_code == 0 ? run->output : "";
}

// Whether `help` lists `flag` as a whole word (--max-num-seqs, not --max-num-seqs-foo).
bool lists_flag(const std::string& help, const std::string& flag) {
  for (size_t at = help.find(flag); at != std::string::npos; at = help.find(flag, at + 1)) {
    const size_t end = at + flag.size();
    const bool word_end = end == help.size() || !(std::isalnum(static_cast<unsigned char>(help[end])) || help[end] == '-' || help[end] == '_');
    if (word_end) return true;
  }
  return false;
}

bool help_mentions(const std::string& kvtier, const std::string& command, const std::string& flag) {
  return lists_flag(help_text(kvtier, command), flag);
}

// Every serve flag of the experiment is one this kvtier's serve knows, so that a typo fails
// before the first cell rather than as one failed cell per arm.
Status check_serve_flags(const Experiment& e, const std::string& kvtier) {
  if (e.target) return Status::ok();
  const std::string help = help_text(kvtier, "serve");
  if (help.empty()) return invalid_argument("`{} serve --help` does not work", kvtier);
  auto check = [&](const std::string& where, const std::string& flag) -> Status {
    if (lists_flag(help, "--" + flag)) return Status::ok();
    return invalid_argument("{}: {}.{}: `kvtier serve` has no --{} (see `{} serve --help`)",
                            e.file.string(), where, flag, flag, kvtier);
  };
  for (const auto& c : e.configs) {
    for (const auto& [flag, value] : c.flags) {
      KVTIER_RETURN_IF_ERROR(check("configs." + c.name, flag));
    }
  }
  for (const auto& w : e.workloads) {
    for (const auto& [flag, value] : w.serve_flags) {
      KVTIER_RETURN_IF_ERROR(check("workloads." + w.name + ".serve_flags", flag));
    }
  }
  for (const auto& m : e.models) {
    if (m.load_format_dummy && !lists_flag(help, "--load-format")) {
      return invalid_argument(
          "{}: model {} has load_format dummy, but `{} serve --help` has no --load-format: this "
          "kvtier cannot serve a preset without weights",
          e.file.string(), m.name, kvtier);
    }
  }
  return Status::ok();
}

// monitor: auto is on when `kvtier monitor --help` works and PCP's import library loads.
Expected<bool> monitor_available(const Experiment& e, const std::string& kvtier) {
  if (e.monitor.enabled == MonitorMode::kOff) return false;
  const bool command = help_mentions(kvtier, "monitor", "--archive");
  void* pcp = ::dlopen("libpcp_import.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (pcp) ::dlclose(pcp);
  if (command && pcp) return true;
  if (e.monitor.enabled == MonitorMode::kOn) {
    return invalid_argument("{}: monitor.enabled is true, but {}", e.file.string(),
                            !command ? "`kvtier monitor --help` does not work in this build"
                                     : "PCP's import library (libpcp_import.so.1) is missing");
  }
  return false;
}

}  // namespace

int run_eval(const EvalOptions& o) {
  auto loaded = load_experiment(o.experiment);
  if (!loaded) {
    fmt::print(stderr, "kvtier eval: {}\n", loaded.error().message());
    return 2;
  }
  const Experiment& e = *loaded;
  const std::vector<Cell> cells = make_plan(e);
  const std::string kvtier = o.kvtier.empty() ? self_binary() : o.kvtier;
  const fs::path out =
      o.out.empty() ? fs::path("results") / (e.name + "-" + utc_stamp("%Y%m%dT%H%M%SZ")) : o.out;
  RunSettings s;
  s.kvtier = kvtier;
  s.out = out;
  s.model_cache = o.model_cache.empty() ? default_model_cache() : o.model_cache;
  s.health_timeout = seconds(o.health_timeout_s);
  if (o.dry_run) {
    fmt::print("{}", describe_plan(e, cells, kvtier, out, s.model_cache));
    return 0;
  }

  // What this kvtier lacks is found before OUT is made.
  if (Status st = check_serve_flags(e, kvtier); !st) {
    fmt::print(stderr, "kvtier eval: {}\n", st.message());
    return 2;
  }
  auto monitor = monitor_available(e, kvtier);
  if (!monitor) {
    fmt::print(stderr, "kvtier eval: {}\n", monitor.error().message());
    return 2;
  }
  s.monitor = *monitor;
  if (e.monitor.enabled == MonitorMode::kAuto && !s.monitor) {
    fmt::print("note: kvtier monitor or PCP is not available here: cells run without monitor\n");
  }

  std::error_code ec;
  if (o.resume) {
    if (Status st = check_resume(e, cells, out, kvtier); !st) {
      fmt::print(stderr, "kvtier eval: {}\n", st.message());
      return 2;
    }
    if (!fs::exists(out / "plan.json")) {
      write_json_atomic(out / "plan.json", plan_json(e, cells, utc_stamp("%Y-%m-%dT%H:%M:%SZ")));
    }
  } else {
    if (fs::exists(out / "plan.json") || fs::exists(out / "experiment.yaml")) {
      fmt::print(stderr,
                 "kvtier eval: {} already holds an eval: add --resume to finish it, or choose "
                 "another --out\n",
                 out.string());
      return 2;
    }
    fs::create_directories(out, ec);
    if (ec) {
      fmt::print(stderr, "kvtier eval: cannot create {}: {}\n", out.string(), ec.message());
      return 2;
    }
    std::ofstream(out / "experiment.yaml", std::ios::binary) << read_file(o.experiment);
    write_json_atomic(out / "plan.json", plan_json(e, cells, utc_stamp("%Y-%m-%dT%H:%M:%SZ")));
  }

  install_interrupt_handlers();
  std::vector<Cell> todo;
  for (const auto& c : cells) {
    if (!o.resume || read_cell_status(out, c) != "complete") todo.push_back(c);
  }
  if (!e.target) {
    if (Status st = make_models(e, todo, s); !st) {
      fmt::print(stderr, "kvtier eval: {}\n", st.message());
      return interrupt_requested() ? 128 + interrupt_signal() : 1;
    }
  }
  if (auto version = run_capture({kvtier, "--version"}, seconds(30)); version) {
    std::string v = version->output;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    s.versions["kvtier"] = v;
  }
  s.hardware = probe_hardware();

  double estimate = 0;
  for (const auto& c : todo) estimate += estimate_cell_seconds(e, c);
  fmt::print("eval {}: {} cells ({} to run), about {}; writing {}\n", e.name, cells.size(),
             todo.size(), format_duration(estimate), out.string());
  std::fflush(stdout);
  Progress progress(int(cells.size()), estimate, ::isatty(STDOUT_FILENO) != 0);
  int failed = 0, completed = 0;
  bool first = true;
  for (const auto& c : cells) {
    const int k = c.order + 1;
    if (o.resume && read_cell_status(out, c) == "complete") {
      progress.skipped(k, c);
      continue;
    }
    if (!first && e.seconds_between_cells > 0) {
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(int64_t(e.seconds_between_cells * 1000));
      while (std::chrono::steady_clock::now() < until && !interrupt_requested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    first = false;
    if (interrupt_requested()) break;
    progress.cell_started(k, c, e.find_workload(c.workload)->levels(),
                          estimate_cell_seconds(e, c));
    CellResult r = run_cell(e, s, c, [&](int done) { progress.levels(done); });
    progress.cell_finished(c, r);
    if (r.status == CellStatus::kInterrupted) break;
    if (r.status == CellStatus::kFailed) ++failed;
    if (r.status == CellStatus::kComplete) ++completed;
  }
  if (interrupt_requested()) {
    fmt::print(stderr,
               "kvtier eval: interrupted; finished cells are complete in {}: `kvtier eval {} "
               "--out {} --resume` runs the rest\n",
               out.string(), o.experiment.string(), out.string());
    return 128 + interrupt_signal();
  }
  fmt::print("{} cells complete, {} failed{}\n", completed, failed,
             todo.size() < cells.size()
                 ? fmt::format(", {} complete before", cells.size() - todo.size())
                 : "");
  auto report = run_capture(report_command(kvtier, out), std::chrono::minutes(30));
  if (report && report->exit_code == 0) {
    fmt::print("{}", report->output);
    fmt::print("report: {}\n", (out / "report").string());
  } else {
    std::ofstream(out / "report.log") << (report ? report->output : report.error().message());
    fmt::print("note: `{}` did not work ({}); its output is in {}; the cells are in {}\n",
               shell_join(report_command(kvtier, out)),
               report ? fmt::format("exit {}", report->exit_code) : report.error().message(),
               (out / "report.log").string(), out.string());
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace kvtier::eval
