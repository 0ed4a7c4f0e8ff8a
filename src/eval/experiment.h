#pragma once
// The experiment file of `kvtier eval` (docs/eval.md): models x configs (with an optional swept
// flag) x workloads x repeats, on one engine, N engines behind `kvtier route`, or an external
// deployment given by URL.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kvtier::eval {

struct ModelSpec {
  std::string name;
  std::filesystem::path path;  // a model folder (resolved against the experiment's folder)
  std::string preset;          // or a `kvtier make-model` preset
  bool load_format_dummy = false;
};

// One swept value set: a serve flag of the config, or a key of its kv-transfer-config's
// kv_connector_extra_config.
struct SweepSpec {
  std::string key;
  bool extra_config = false;
  std::vector<nlohmann::json> values;
};

struct ConfigSpec {
  std::string name;
  // Serve flags without the leading "--", in file order; values are JSON scalars, or an object
  // (kv-transfer-config) written out as JSON.
  std::vector<std::pair<std::string, nlohmann::json>> flags;
  std::optional<SweepSpec> sweep;
};

struct WorkloadSpec {
  std::string name;
  std::string data;  // --data as given (objects as compact JSON)
  std::string rate_type = "concurrent";
  std::vector<double> rates;
  std::optional<double> max_seconds;
  std::optional<double> warmup;
  std::optional<double> cooldown;
  std::string request_type;
  std::optional<int64_t> max_requests;
  std::vector<std::string> extra;
  // Serve flags this workload adds to every config's (replacing a config's flag of the same
  // name), e.g. a capped GPU pool for a memory-pressure workload.
  std::vector<std::pair<std::string, nlohmann::json>> serve_flags;

  // Benchmarks one bench run makes: one per rate (sweep: the rate, else 10; others 1).
  int levels() const;
};

struct Topology {
  int engines = 1;
  std::filesystem::path router_config;  // EndpointPickerConfig YAML; empty: route's default
  bool router = false;
};

// A running deployment (a user's own vLLM): eval only benchmarks and observes it.
struct TargetSpec {
  std::string url;
  std::vector<std::string> metrics;  // default: URL/metrics
};

enum class MonitorMode { kAuto, kOn, kOff };

struct MonitorSpec {
  MonitorMode enabled = MonitorMode::kAuto;
  double interval_s = 1;
};

struct Experiment {
  std::filesystem::path file;  // where it was read from
  std::string name;
  int repeats = 1;
  std::string baseline;  // a config name
  std::string device = "cpu";
  double seconds_between_cells = 0;
  std::vector<ModelSpec> models;
  std::vector<ConfigSpec> configs;
  Topology topology;
  std::optional<TargetSpec> target;
  std::vector<WorkloadSpec> workloads;
  MonitorSpec monitor;
  // The file as parsed (JSON, defaults not filled in): --resume compares two of these.
  nlohmann::json document;

  const ModelSpec* find_model(const std::string& name) const;
  const WorkloadSpec* find_workload(const std::string& name) const;
  const ConfigSpec* find_config(const std::string& name) const;
};

// `source` names the file in errors; relative paths inside resolve against `base_dir`.
Expected<Experiment> parse_experiment(const std::string& text, const std::string& source,
                                      const std::filesystem::path& base_dir);
Expected<Experiment> load_experiment(const std::filesystem::path& file);

// The first key path where two parsed documents differ ("" when equal), e.g. "workloads.a.rates".
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& path = "");

}  // namespace kvtier::eval
