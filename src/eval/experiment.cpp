#include "eval/experiment.h"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "eval/yaml_fields.h"

namespace kvtier::eval {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPresets[] = {"tiny", "qwen3-0.6b", "qwen3-8b", "qwen3-14b"};
constexpr std::string_view kRateTypes[] = {"synchronous", "concurrent", "throughput",
                                           "constant",    "poisson",    "sweep"};
// Serve flags eval sets itself for every engine.
constexpr std::string_view kReservedFlags[] = {"host", "port", "device", "model", "load-format"};

template <typename List>
bool contains(const List& list, std::string_view value) {
  for (auto v : list) {
    if (v == value) return true;
  }
  return false;
}

Status check_name(const YamlField& field, const std::string& name) {
  if (!is_folder_name(name)) {
    return field.error(fmt::format(
        "'{}' is not a valid name: use letters, digits, '.', '_' and '-' (it names a folder)",
        name));
  }
  return Status::ok();
}

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() || base.empty() ? path : base / path;
}

Status parse_models(const YamlField& f, const fs::path& base, bool external, Experiment& e) {
  if (!f.present()) {
    if (!external) return f.error("missing: list at least one model ({name, preset} or {name, path})");
    e.models.push_back({"target", {}, {}, false});
    return Status::ok();
  }
  KVTIER_RETURN_IF_ERROR(f.check_sequence());
  if (f.node().size() == 0) return f.error("the list is empty: give at least one model");
  std::set<std::string> names;
  for (size_t i = 0; i < f.node().size(); ++i) {
    YamlField m = f.item(i);
    KVTIER_RETURN_IF_ERROR(m.check_keys({"name", "path", "preset", "load_format"}));
    ModelSpec spec;
    KVTIER_ASSIGN_OR_RETURN(spec.name, m.child("name").as_string());
    KVTIER_RETURN_IF_ERROR(check_name(m.child("name"), spec.name));
    if (!names.insert(spec.name).second) {
      return m.child("name").error(fmt::format("model '{}' is listed twice", spec.name));
    }
    const YamlField path = m.child("path"), preset = m.child("preset"), lf = m.child("load_format");
    if (external) {
      for (const YamlField* x : {&path, &preset, &lf}) {
        if (x->present()) {
          return x->error("with targets a model is only a label: the target serves its own model");
        }
      }
      e.models.push_back(spec);
      continue;
    }
    if (path.present() == preset.present()) {
      return m.error("give exactly one of 'path' (a model folder) and 'preset'");
    }
    if (path.present()) {
      KVTIER_ASSIGN_OR_RETURN(std::string p, path.as_string());
      spec.path = resolve(base, p);
    } else {
      KVTIER_ASSIGN_OR_RETURN(spec.preset, preset.as_string());
      if (!contains(kPresets, spec.preset)) {
        return preset.error(fmt::format(
            "'{}' is not a preset (tiny, qwen3-0.6b, qwen3-8b, qwen3-14b)", spec.preset));
      }
    }
    if (lf.present()) {
      KVTIER_ASSIGN_OR_RETURN(std::string format, lf.as_string());
      if (format != "dummy" && format != "auto") {
        return lf.error(fmt::format("'{}' is not a load format (dummy or auto)", format));
      }
      spec.load_format_dummy = format == "dummy";
    }
    e.models.push_back(spec);
  }
  return Status::ok();
}

// One serve flag of a config or a workload's serve_flags.
Status parse_flag(const YamlField& v, const std::string& raw,
                  std::vector<std::pair<std::string, nlohmann::json>>& out) {
  const std::string flag = raw.rfind("--", 0) == 0 ? raw.substr(2) : raw;
  bool valid = !flag.empty() && flag[0] != '-';
  for (char ch : flag) {
    valid = valid && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
  }
  if (!valid) return v.error("not a serve flag name (lowercase letters, digits and '-')");
  if (contains(kReservedFlags, flag)) {
    return v.error(fmt::format("--{} is set by eval for every engine", flag));
  }
  if (!v.present()) return v.error("missing value (write true for a flag without one)");
  if (v.node().IsSequence()) return v.error("a flag's value is a scalar or a JSON object");
  out.emplace_back(flag, v.as_json());
  return Status::ok();
}

Expected<SweepSpec> parse_sweep(const YamlField& f, const ConfigSpec& config) {
  KVTIER_RETURN_IF_ERROR(f.check_keys({"key", "values"}));
  SweepSpec sweep;
  KVTIER_ASSIGN_OR_RETURN(sweep.key, f.child("key").as_string());
  if (sweep.key.rfind("--", 0) == 0) sweep.key = sweep.key.substr(2);
  bool is_flag = false;
  const nlohmann::json* extra = nullptr;
  for (const auto& [flag, value] : config.flags) {
    if (flag == sweep.key) is_flag = true;
    if (flag == "kv-transfer-config" && value.is_object() &&
        value.contains("kv_connector_extra_config") &&
        value["kv_connector_extra_config"].is_object()) {
      extra = &value["kv_connector_extra_config"];
    }
  }
  if (!is_flag) {
    if (!extra || !extra->contains(sweep.key)) {
      return f.child("key").error(fmt::format(
          "'{}' is neither a flag of config '{}' nor a key of its kv-transfer-config's "
          "kv_connector_extra_config (a swept flag must be set in the config; its value there "
          "is replaced)",
          sweep.key, config.name));
    }
    sweep.extra_config = true;
  }
  const YamlField values = f.child("values");
  if (!values.present()) return values.error("missing: list the values to sweep");
  KVTIER_RETURN_IF_ERROR(values.check_sequence());
  if (values.node().size() == 0) return values.error("the list is empty");
  std::set<std::string> seen;
  for (size_t i = 0; i < values.node().size(); ++i) {
    YamlField v = values.item(i);
    nlohmann::json value = v.as_json();
    if (!value.is_number() && !value.is_string() && !value.is_boolean()) {
      return v.error("a swept value must be a number, a string or a bool");
    }
    const std::string text = json_to_arg(value);
    if (!is_folder_name(text)) {
      return v.error(fmt::format("'{}' cannot name an arm's folder: use letters, digits, '.', "
                                 "'_' and '-'",
                                 text));
    }
    if (!seen.insert(text).second) return v.error(fmt::format("'{}' is listed twice", text));
    sweep.values.push_back(std::move(value));
  }
  return sweep;
}

Status parse_configs(const YamlField& f, bool external, Experiment& e) {
  if (!f.present()) {
    if (!external) return f.error("missing: name at least one config of serve flags");
    e.configs.push_back({"external", {}, std::nullopt});
    return Status::ok();
  }
  KVTIER_ASSIGN_OR_RETURN(auto names, f.keys());
  if (names.empty()) return f.error("no configs: name at least one");
  if (external && names.size() > 1) {
    return f.error("with targets there is one config (a label for the deployment)");
  }
  for (const auto& name : names) {
    YamlField c = f.child(name);
    KVTIER_RETURN_IF_ERROR(check_name(c, name));
    ConfigSpec config;
    config.name = name;
    if (!c.present()) {
      e.configs.push_back(config);
      continue;
    }
    KVTIER_ASSIGN_OR_RETURN(auto flags, c.keys());
    if (external && !flags.empty()) {
      return c.child(flags[0]).error(
          "with targets a config is only a label: eval starts no server to pass flags to");
    }
    for (const auto& raw : flags) {
      if (raw == "sweep") continue;
      KVTIER_RETURN_IF_ERROR(parse_flag(c.child(raw), raw, config.flags));
    }
    if (c.child("sweep").present()) {
      KVTIER_ASSIGN_OR_RETURN(auto sweep, parse_sweep(c.child("sweep"), config));
      config.sweep = std::move(sweep);
    }
    e.configs.push_back(std::move(config));
  }
  return Status::ok();
}

Status parse_workloads(const YamlField& f, bool external, Experiment& e) {
  if (!f.present()) return f.error("missing: name at least one workload of bench settings");
  KVTIER_ASSIGN_OR_RETURN(auto names, f.keys());
  if (names.empty()) return f.error("no workloads: name at least one");
  for (const auto& name : names) {
    YamlField w = f.child(name);
    KVTIER_RETURN_IF_ERROR(check_name(w, name));
    KVTIER_RETURN_IF_ERROR(w.check_keys({"data", "rate_type", "rates", "max_seconds", "warmup",
                                         "cooldown", "request_type", "max_requests", "extra",
                                         "serve_flags"}));
    WorkloadSpec spec;
    spec.name = name;
    if (YamlField d = w.child("data"); d.present()) {
      if (d.node().IsMap()) {
        spec.data = d.as_json().dump();
      } else {
        KVTIER_ASSIGN_OR_RETURN(spec.data, d.as_string());
      }
    }
    if (YamlField t = w.child("rate_type"); t.present()) {
      KVTIER_ASSIGN_OR_RETURN(spec.rate_type, t.as_string());
      if (!contains(kRateTypes, spec.rate_type)) {
        return t.error(fmt::format("'{}' is not a rate type (synchronous, concurrent, throughput, "
                                   "constant, poisson, sweep)",
                                   spec.rate_type));
      }
    }
    if (YamlField r = w.child("rates"); r.present()) {
      if (r.node().IsScalar()) {
        KVTIER_ASSIGN_OR_RETURN(double v, r.as_number());
        spec.rates.push_back(v);
      } else {
        KVTIER_RETURN_IF_ERROR(r.check_sequence());
        for (size_t i = 0; i < r.node().size(); ++i) {
          KVTIER_ASSIGN_OR_RETURN(double v, r.item(i).as_number());
          if (v <= 0) return r.item(i).error(fmt::format("{} is not a positive rate", v));
          spec.rates.push_back(v);
        }
      }
      if (spec.rates.empty()) return r.error("the list is empty");
    } else if (spec.rate_type == "concurrent" || spec.rate_type == "constant" ||
               spec.rate_type == "poisson") {
      return r.error(fmt::format("missing: rate type {} needs rates", spec.rate_type));
    }
    auto positive = [&](const char* key, std::optional<double>& out, bool allow_zero) -> Status {
      YamlField x = w.child(key);
      if (!x.present()) return Status::ok();
      KVTIER_ASSIGN_OR_RETURN(double v, x.as_number());
      if (v < 0 || (!allow_zero && v == 0)) {
        return x.error(fmt::format("{} must be {}", v, allow_zero ? ">= 0" : "> 0"));
      }
      out = v;
      return Status::ok();
    };
    KVTIER_RETURN_IF_ERROR(positive("max_seconds", spec.max_seconds, false));
    KVTIER_RETURN_IF_ERROR(positive("warmup", spec.warmup, true));
    KVTIER_RETURN_IF_ERROR(positive("cooldown", spec.cooldown, true));
    if (YamlField m = w.child("max_requests"); m.present()) {
      KVTIER_ASSIGN_OR_RETURN(int64_t v, m.as_integer());
      if (v <= 0) return m.error(fmt::format("{} must be > 0", v));
      spec.max_requests = v;
    }
    if (!spec.max_seconds && !spec.max_requests) {
      return w.error("give max_seconds or max_requests: each benchmark level needs an end");
    }
    if (YamlField t = w.child("request_type"); t.present()) {
      KVTIER_ASSIGN_OR_RETURN(spec.request_type, t.as_string());
    }
    if (YamlField x = w.child("extra"); x.present()) {
      KVTIER_RETURN_IF_ERROR(x.check_sequence());
      for (size_t i = 0; i < x.node().size(); ++i) {
        KVTIER_ASSIGN_OR_RETURN(std::string arg, x.item(i).as_string());
        spec.extra.push_back(arg);
      }
    }
    if (YamlField sf = w.child("serve_flags"); sf.present()) {
      if (external) return sf.error("with targets eval starts no server to pass flags to");
      KVTIER_ASSIGN_OR_RETURN(auto flags, sf.keys());
      for (const auto& raw : flags) {
        KVTIER_RETURN_IF_ERROR(parse_flag(sf.child(raw), raw, spec.serve_flags));
      }
    }
    e.workloads.push_back(std::move(spec));
  }
  return Status::ok();
}

Status parse_topology(const YamlField& f, const fs::path& base, Experiment& e) {
  if (!f.present()) return Status::ok();
  KVTIER_RETURN_IF_ERROR(f.check_keys({"engines", "router"}));
  if (YamlField n = f.child("engines"); n.present()) {
    KVTIER_ASSIGN_OR_RETURN(int64_t engines, n.as_integer());
    if (engines < 1 || engines > 64) return n.error(fmt::format("{} is not 1 to 64", engines));
    e.topology.engines = int(engines);
  }
  if (YamlField r = f.child("router"); r.present()) {
    KVTIER_RETURN_IF_ERROR(r.check_keys({"config"}));
    e.topology.router = true;
    if (YamlField c = r.child("config"); c.present()) {
      KVTIER_ASSIGN_OR_RETURN(std::string path, c.as_string());
      e.topology.router_config = resolve(base, path);
    }
  }
  // Several engines are only reachable as one target through the router.
  if (e.topology.engines > 1) e.topology.router = true;
  return Status::ok();
}

Status parse_target(const YamlField& f, Experiment& e) {
  KVTIER_RETURN_IF_ERROR(f.check_keys({"url", "metrics"}));
  TargetSpec t;
  KVTIER_ASSIGN_OR_RETURN(t.url, f.child("url").as_string());
  if (t.url.rfind("http://", 0) != 0) {
    return f.child("url").error(fmt::format("'{}' is not an http:// URL", t.url));
  }
  while (!t.url.empty() && t.url.back() == '/') t.url.pop_back();
  if (YamlField m = f.child("metrics"); m.present()) {
    KVTIER_RETURN_IF_ERROR(m.check_sequence());
    for (size_t i = 0; i < m.node().size(); ++i) {
      KVTIER_ASSIGN_OR_RETURN(std::string url, m.item(i).as_string());
      if (url.rfind("http://", 0) != 0) {
        return m.item(i).error(fmt::format("'{}' is not an http:// URL", url));
      }
      t.metrics.push_back(url);
    }
  } else {
    t.metrics.push_back(t.url + "/metrics");
  }
  e.target = std::move(t);
  return Status::ok();
}

Status parse_monitor(const YamlField& f, Experiment& e) {
  if (!f.present()) return Status::ok();
  KVTIER_RETURN_IF_ERROR(f.check_keys({"enabled", "interval"}));
  if (YamlField en = f.child("enabled"); en.present()) {
    if (en.node().IsScalar() && en.node().Scalar() == "auto") {
      e.monitor.enabled = MonitorMode::kAuto;
    } else {
      auto on = en.as_bool();
      if (!on) return en.error(fmt::format("'{}' is not auto, true or false", en.node().Scalar()));
      e.monitor.enabled = *on ? MonitorMode::kOn : MonitorMode::kOff;
    }
  }
  if (YamlField i = f.child("interval"); i.present()) {
    KVTIER_ASSIGN_OR_RETURN(double s, i.as_number());
    if (s <= 0) return i.error(fmt::format("{} is not a positive number of seconds", s));
    e.monitor.interval_s = s;
  }
  return Status::ok();
}

Expected<Experiment> parse_root(const YamlField& root, const std::string& source,
                                const fs::path& base_dir) {
  Experiment e;
  if (!root.present()) return root.error("the file is empty");
  KVTIER_RETURN_IF_ERROR(root.check_keys({"name", "repeats", "baseline", "device",
                                          "seconds_between_cells", "models", "configs",
                                          "topology", "targets", "workloads", "monitor"}));
  e.document = root.as_json();
  if (YamlField n = root.child("name"); n.present()) {
    KVTIER_ASSIGN_OR_RETURN(e.name, n.as_string());
    KVTIER_RETURN_IF_ERROR(check_name(n, e.name));
  } else {
    e.name = fs::path(source).stem().string();
    if (!is_folder_name(e.name)) return n.error("missing: give the experiment a name");
  }
  if (YamlField r = root.child("repeats"); r.present()) {
    KVTIER_ASSIGN_OR_RETURN(int64_t repeats, r.as_integer());
    if (repeats < 1 || repeats > 1000) return r.error(fmt::format("{} is not 1 to 1000", repeats));
    e.repeats = int(repeats);
  }
  if (YamlField d = root.child("device"); d.present()) {
    KVTIER_ASSIGN_OR_RETURN(e.device, d.as_string());
    if (e.device != "cpu" && e.device != "cuda") {
      return d.error(fmt::format("'{}' is not cpu or cuda", e.device));
    }
  }
  if (YamlField s = root.child("seconds_between_cells"); s.present()) {
    KVTIER_ASSIGN_OR_RETURN(e.seconds_between_cells, s.as_number());
    if (e.seconds_between_cells < 0) return s.error("must be >= 0");
  }
  const YamlField targets = root.child("targets");
  const bool external = targets.present();
  KVTIER_RETURN_IF_ERROR(parse_topology(root.child("topology"), base_dir, e));
  if (external) {
    if (e.topology.engines > 1 || e.topology.router) {
      return root.child("topology").error(
          "targets and a topology of engines or a router exclude each other: eval either "
          "launches engines or benchmarks a running deployment");
    }
    KVTIER_RETURN_IF_ERROR(parse_target(targets, e));
  }
  KVTIER_RETURN_IF_ERROR(parse_models(root.child("models"), base_dir, external, e));
  KVTIER_RETURN_IF_ERROR(parse_configs(root.child("configs"), external, e));
  KVTIER_RETURN_IF_ERROR(parse_workloads(root.child("workloads"), external, e));
  KVTIER_RETURN_IF_ERROR(parse_monitor(root.child("monitor"), e));
  if (YamlField b = root.child("baseline"); b.present()) {
    KVTIER_ASSIGN_OR_RETURN(e.baseline, b.as_string());
    if (!e.find_config(e.baseline)) {
      return b.error(fmt::format("'{}' is not one of the configs", e.baseline));
    }
  } else {
    e.baseline = e.configs.front().name;
  }
  return e;
}

}  // namespace

int WorkloadSpec::levels() const {
  if (rate_type == "sweep") return rates.empty() ? 10 : int(rates.front());
  return rates.empty() ? 1 : int(rates.size());
}

const ModelSpec* Experiment::find_model(const std::string& n) const {
  for (const auto& m : models) {
    if (m.name == n) return &m;
  }
  return nullptr;
}

const WorkloadSpec* Experiment::find_workload(const std::string& n) const {
  for (const auto& w : workloads) {
    if (w.name == n) return &w;
  }
  return nullptr;
}

const ConfigSpec* Experiment::find_config(const std::string& n) const {
  for (const auto& c : configs) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

Expected<Experiment> parse_experiment(const std::string& text, const std::string& source,
                                      const fs::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& ex) {
    return invalid_argument("{}:{}:{}: not valid YAML: {}", source, ex.mark.line + 1,
                            ex.mark.column + 1, ex.msg);
  }
  try {
    auto e = parse_root(YamlField(root, "", &source), source, base_dir);
    if (e) e->file = source;
    return e;
  } catch (const YAML::Exception& ex) {
    return invalid_argument("{}: {}", source, ex.what());
  }
}

Expected<Experiment> load_experiment(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return not_found("{}: cannot read the experiment file", file.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_experiment(text.str(), file.string(), file.parent_path());
}

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& path) {
  if (a == b) return "";
  const std::string here = path.empty() ? "(the whole file)" : path;
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      const std::string sub = path.empty() ? key : path + "." + key;
      if (!b.contains(key)) return sub;
      std::string d = first_difference(value, b[key], sub);
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) return path.empty() ? key : path + "." + key;
    }
    return here;
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) {
      std::string d = first_difference(a[i], b[i], fmt::format("{}[{}]", path, i));
      if (!d.empty()) return d;
    }
  }
  return here;
}

}  // namespace kvtier::eval
