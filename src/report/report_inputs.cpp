#include "report/report_inputs.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "report/system_readings.h"

namespace kvtier::report {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Expected<Json> read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return not_found("{}: cannot open", path.string());
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return data_loss("{}: not valid JSON", path.string());
  return j;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Expected<std::string> string_key(const Json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string()) {
    return data_loss("{}: \"{}\" missing or not a string", where, key);
  }
  return j[key].get<std::string>();
}

// Names become folder names: the experiment parser allows [A-Za-z0-9._-]+ for models,
// workloads and configs; a swept arm adds "@<key>=<value>". Nothing may leave cells/.
Status check_name(const std::string& value, const char* key, const std::string& where) {
  static const std::regex kName("[A-Za-z0-9._-]+");
  static const std::regex kArm("[A-Za-z0-9._-]+(@[^/\\\\]+)?");
  const bool arm = std::string_view(key) == "arm";
  if (!std::regex_match(value, arm ? kArm : kName) || value == "." || value == "..") {
    return data_loss(
        "{}: {} \"{}\" is not a folder name ({})", where, key, value,
        arm ? "[A-Za-z0-9._-]+, then @<key>=<value> for a swept flag" : "[A-Za-z0-9._-]+");
  }
  return Status::ok();
}

std::string utc_time(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string value_text(const Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

struct PlannedCell {
  std::string id, model, workload, config, arm, sweep_key, sweep_value;
  int repeat = 1;
};

Expected<PlannedCell> planned_cell(const Json& c, const std::string& where) {
  if (!c.is_object()) return data_loss("{}: not an object", where);
  PlannedCell p;
  KVTIER_ASSIGN_OR_RETURN(p.id, string_key(c, "id", where));
  KVTIER_ASSIGN_OR_RETURN(p.model, string_key(c, "model", where));
  KVTIER_ASSIGN_OR_RETURN(p.workload, string_key(c, "workload", where));
  KVTIER_ASSIGN_OR_RETURN(p.config, string_key(c, "config", where));
  KVTIER_ASSIGN_OR_RETURN(p.arm, string_key(c, "arm", where));
  KVTIER_RETURN_IF_ERROR(check_name(p.model, "model", where));
  KVTIER_RETURN_IF_ERROR(check_name(p.workload, "workload", where));
  KVTIER_RETURN_IF_ERROR(check_name(p.arm, "arm", where));
  if (!c.contains("repeat") || !c["repeat"].is_number_integer() || c["repeat"].get<int>() < 1) {
    return data_loss("{}: \"repeat\" missing or not an integer >= 1", where);
  }
  p.repeat = c["repeat"].get<int>();
  if (c.contains("sweep") && c["sweep"].is_object()) {
    const Json& s = c["sweep"];
    if (s.contains("key")) p.sweep_key = value_text(s["key"]);
    if (s.contains("value")) p.sweep_value = value_text(s["value"]);
  }
  return p;
}

void add_setup(TestConfiguration& config, const std::string& arm, const Json& cell) {
  for (const auto& a : config.arms) {
    if (a.arm == arm) return;
  }
  ArmSetup setup;
  setup.arm = arm;
  auto argv = [](const Json& j) {
    std::vector<std::string> out;
    if (j.is_array()) {
      for (const auto& w : j) out.push_back(value_text(w));
    }
    return out;
  };
  if (cell.contains("server_commands") && cell["server_commands"].is_array()) {
    for (const auto& c : cell["server_commands"])
      setup.server_commands.push_back(shell_join(argv(c)));
  }
  if (cell.contains("router_command"))
    setup.router_command = shell_join(argv(cell["router_command"]));
  if (cell.contains("bench_command")) setup.bench_command = shell_join(argv(cell["bench_command"]));
  if (cell.contains("device") && cell["device"].is_string()) setup.device = cell["device"];
  config.arms.push_back(std::move(setup));
}

void add_hardware(TestConfiguration& config, const Json& cell) {
  if (!config.hardware.empty() || !cell.contains("hardware") || !cell["hardware"].is_object()) {
    return;
  }
  const Json& h = cell["hardware"];
  if (h.contains("hostname")) config.hardware.push_back("Host: " + value_text(h["hostname"]));
  if (h.contains("cpu_model")) {
    std::string cpu = "CPU: " + value_text(h["cpu_model"]);
    if (h.contains("cpu_count")) cpu += fmt::format(" ({} cores)", value_text(h["cpu_count"]));
    config.hardware.push_back(cpu);
  }
  if (h.contains("memory_total_bytes") && h["memory_total_bytes"].is_number()) {
    config.hardware.push_back(
        fmt::format("Memory: {:.1f} GiB", h["memory_total_bytes"].get<double>() / (1 << 30)));
  }
  if (h.contains("gpus") && h["gpus"].is_array()) {
    for (const auto& g : h["gpus"]) {
      if (!g.is_object()) continue;
      std::string line = "GPU: " + (g.contains("name") ? value_text(g["name"]) : "unknown");
      if (g.contains("memory_total_mib")) line += ", " + value_text(g["memory_total_mib"]) + " MiB";
      if (g.contains("driver")) line += ", driver " + value_text(g["driver"]);
      config.hardware.push_back(line);
    }
  }
  if (cell.contains("device") && cell["device"].is_string()) {
    config.hardware.push_back("Device: " + cell["device"].get<std::string>());
  }
}

}  // namespace

std::string shell_join(const std::vector<std::string>& argv) {
  static const std::regex kPlain("[A-Za-z0-9_./=:,@%+-]+");
  std::string out;
  for (const auto& w : argv) {
    if (!out.empty()) out += ' ';
    if (std::regex_match(w, kPlain)) {
      out += w;
      continue;
    }
    out += '\'';
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

Expected<Report> read_eval_folder(const fs::path& dir) {
  const fs::path plan_path = dir / "plan.json";
  KVTIER_ASSIGN_OR_RETURN(Json plan, read_json(plan_path));
  const std::string where = plan_path.string();
  if (!plan.is_object() || !plan.contains("cells") || !plan["cells"].is_array()) {
    return data_loss("{}: no \"cells\" list (not a kvtier eval folder)", where);
  }
  Report report;
  std::string baseline;
  KVTIER_ASSIGN_OR_RETURN(baseline, string_key(plan, "baseline", where));
  if (plan.contains("name")) report.config.experiment_name = value_text(plan["name"]);
  if (plan.contains("created_at")) report.config.created_at = value_text(plan["created_at"]);
  report.title = report.config.experiment_name.empty() ? dir.filename().string()
                                                       : report.config.experiment_name;
  if (fs::exists(dir / "experiment.yaml")) {
    report.config.experiment_yaml = read_text(dir / "experiment.yaml");
  }

  double first_start = 0, last_end = 0;
  for (size_t i = 0; i < plan["cells"].size(); ++i) {
    KVTIER_ASSIGN_OR_RETURN(PlannedCell p,
                            planned_cell(plan["cells"][i], fmt::format("{}: cells[{}]", where, i)));
    auto group = std::find_if(report.groups.begin(), report.groups.end(), [&](const Group& g) {
      return g.model == p.model && g.workload == p.workload;
    });
    if (group == report.groups.end()) {
      report.groups.push_back(Group{});
      group = std::prev(report.groups.end());
      group->model = p.model;
      group->workload = p.workload;
    }
    auto arm = std::find_if(group->arms.begin(), group->arms.end(),
                            [&](const Arm& a) { return a.name == p.arm; });
    if (arm == group->arms.end()) {
      group->arms.push_back(Arm{});
      arm = std::prev(group->arms.end());
      arm->name = p.arm;
      arm->config = p.config;
      arm->sweep_key = p.sweep_key;
      arm->sweep_value = p.sweep_value;
    }
    const fs::path cell_dir =
        dir / "cells" / p.model / p.workload / p.arm / fmt::format("r{}", p.repeat);
    const fs::path cell_path = cell_dir / "cell.json";
    if (!fs::exists(cell_path)) {
      arm->failures.push_back(fmt::format("{}: not run (no {})", p.id, cell_path.string()));
      continue;
    }
    auto cell = read_json(cell_path);
    if (!cell || !cell->is_object()) {
      arm->failures.push_back(fmt::format(
          "{}: {}", p.id, cell ? cell_path.string() + ": not an object" : cell.error().message()));
      continue;
    }
    const std::string status = cell->value("status", std::string("unknown"));
    if (status == "failed") {
      arm->failures.push_back(
          fmt::format("{}: failed: {}", p.id, cell->value("error", std::string("no message"))));
      continue;
    }
    if (status != "complete") {
      arm->failures.push_back(fmt::format("{}: did not finish (status \"{}\")", p.id, status));
      continue;
    }
    auto results = load_bench_results(cell_dir / "benchmarks.json");
    if (!results) {
      arm->failures.push_back(fmt::format("{}: {}", p.id, results.error().message()));
      continue;
    }
    RunInput run;
    run.name = p.id;
    run.repeat = p.repeat;
    run.results = std::move(*results);
    if (cell->contains("metrics_delta") && !(*cell)["metrics_delta"].is_null()) {
      auto delta = parse_metrics_delta((*cell)["metrics_delta"], cell_path.string());
      if (delta)
        run.metrics_delta = *delta;
      else
        group->notes.push_back(delta.error().message() + " (tier counters left out)");
    }
    if (const std::string archive = cell_archive(cell_dir); !archive.empty()) {
      read_system_readings(run, archive, report.warnings);
    }
    arm->runs.push_back(std::move(run));
    add_setup(report.config, p.arm, *cell);
    add_hardware(report.config, *cell);
    if (report.config.kvtier_version.empty() && cell->contains("versions") &&
        (*cell)["versions"].is_object() && (*cell)["versions"].contains("kvtier")) {
      report.config.kvtier_version = value_text((*cell)["versions"]["kvtier"]);
    }
    const double start = cell->value("started_at", 0.0), end = cell->value("finished_at", 0.0);
    if (start > 0 && (first_start == 0 || start < first_start)) first_start = start;
    if (end > last_end) last_end = end;
  }
  if (first_start > 0) {
    report.config.run_dates =
        utc_time(first_start) + (last_end > first_start ? " to " + utc_time(last_end) : "");
  }
  for (auto& g : report.groups) {
    auto base = std::find_if(g.arms.begin(), g.arms.end(),
                             [&](const Arm& a) { return a.name == baseline; });
    if (base == g.arms.end()) {
      base = std::find_if(g.arms.begin(), g.arms.end(),
                          [&](const Arm& a) { return a.config == baseline; });
    }
    if (base == g.arms.end()) {
      return data_loss("{}: the baseline \"{}\" has no cell for {}", where, baseline, g.title());
    }
    std::rotate(g.arms.begin(), base, base + 1);
  }
  if (report.groups.empty()) return data_loss("{}: the plan has no cells", where);
  return report;
}

Expected<Report> read_bench_files(const std::vector<FileArm>& arms) {
  Report report;
  Group g;
  for (const auto& a : arms) {
    Arm arm;
    arm.name = arm.config = a.name;
    for (size_t i = 0; i < a.files.size(); ++i) {
      KVTIER_ASSIGN_OR_RETURN(auto results, load_bench_results(a.files[i]));
      RunInput run;
      run.name = a.files[i].string();
      run.repeat = static_cast<int>(i) + 1;
      run.results = std::move(results);
      arm.runs.push_back(std::move(run));
    }
    g.arms.push_back(std::move(arm));
  }
  std::string others;
  for (size_t i = 1; i < arms.size(); ++i) others += (i > 1 ? ", " : "") + arms[i].name;
  report.title = arms.empty() ? "" : fmt::format("{} vs {} (baseline)", others, arms[0].name);
  report.groups.push_back(std::move(g));
  return report;
}

}  // namespace kvtier::report
