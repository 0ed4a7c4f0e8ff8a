#pragma once
// Synthetic benchmarks.json files and eval folders for the report tests, in the layouts
// `kvtier bench` and `kvtier eval` write (docs/report.md).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kvtier::report::testing {

struct Level {
  double level;
  double rps, tok_s, lat_mean, lat_median, ttft_mean, ttft_median, itl_mean, itl_median;
  int errored = 0;
};

// What the run says about how it was made (compared before runs are compared).
struct RunSetup {
  std::string profile = "concurrent";
  std::vector<double> rates;  // empty: the levels
  std::string data = R"({"prompt_tokens":128,"output_tokens":128,"prefix_tokens":10000,"turns":5})";
  std::string model = "Qwen/Qwen3-0.6B";
};

inline nlohmann::json dist(double mean, double median) {
  return {{"successful",
           {{"mean", mean},
            {"median", median},
            {"percentiles", {{"p50", median}, {"p99", 2 * median}}}}},
          {"total", {{"mean", mean}, {"median", median}}}};
}

// One benchmark per level (and a bulky requests list, which the reader skips).
inline std::string results_file(const std::vector<Level>& levels, const RunSetup& setup = {}) {
  nlohmann::json benchmarks = nlohmann::json::array();
  std::vector<double> rates = setup.rates;
  for (const auto& l : levels) {
    if (setup.rates.empty()) rates.push_back(l.level);
    nlohmann::json strategy = {{"type_", setup.profile}};
    strategy[setup.profile == "concurrent" ? "streams" : "rate"] = l.level;
    benchmarks.push_back(
        {{"config", {{"strategy", strategy}, {"requests", {{"data", {setup.data}}}}}},
         {"start_time", 1.7e9},
         {"end_time", 1.7e9 + 30},
         {"metrics",
          {{"requests_per_second", dist(l.rps, l.rps)},
           {"output_tokens_per_second", dist(l.tok_s, l.tok_s)},
           {"request_latency", dist(l.lat_mean, l.lat_median)},
           {"time_to_first_token_ms", dist(l.ttft_mean, l.ttft_median)},
           {"inter_token_latency_ms", dist(l.itl_mean, l.itl_median)},
           {"request_totals", {{"successful", 10}, {"incomplete", 1}, {"errored", l.errored}}}}},
         {"requests", {{"successful", nlohmann::json::array({{{"request_id", "x"}}})}}}});
  }
  return nlohmann::json{{"metadata", {{"tool", "kvtier bench"}, {"model", setup.model}}},
                        {"args",
                         {{"profile", setup.profile},
                          {"rate", rates},
                          {"data", {setup.data}},
                          {"model", nullptr},
                          {"target", "http://127.0.0.1:8000"}}},
                        {"benchmarks", benchmarks}}
      .dump();
}

// Every metric of `base` scaled by the factors (throughput, latency-like).
inline Level scaled(Level l, double throughput, double latency) {
  l.rps *= throughput;
  l.tok_s *= throughput;
  for (double* v :
       {&l.lat_mean, &l.lat_median, &l.ttft_mean, &l.ttft_median, &l.itl_mean, &l.itl_median}) {
    *v *= latency;
  }
  return l;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A fresh folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(next_id()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static int next_id() {
    static int id = 0;
    return ++id;
  }
  std::filesystem::path path_;
};

// ---- eval folders ----

inline const Level kLow = {5, 5.0, 640, 1.0, 1.0, 65, 64, 7.5, 7.3};
inline const Level kHigh = {25, 14.0, 1900, 1.7, 1.7, 105, 100, 12.4, 12.2};

struct CellSpec {
  std::string arm;
  int repeat;
  std::string status = "complete";  // "complete", "failed", "running", "" (no cell.json)
  double throughput = 1.0;          // factor on both levels
  nlohmann::json metrics_delta = nullptr;
  RunSetup setup = {};
};

inline nlohmann::json delta(double queries, double gpu_hits, double cpu_hits, double bytes_down,
                            double seconds) {
  return {{"prompt_tokens", queries},
          {"generation_tokens", 1000},
          {"prefix_cache_queries", queries},
          {"prefix_cache_hits", gpu_hits},
          {"external_prefix_cache_queries", queries - gpu_hits},
          {"external_prefix_cache_hits", cpu_hits},
          {"num_preemptions", 2},
          {"kv_offload_bytes", {{"GPU_to_CPU", bytes_down}, {"CPU_to_GPU", bytes_down / 2}}},
          {"kv_offload_seconds", {{"GPU_to_CPU", seconds}, {"CPU_to_GPU", seconds / 2}}}};
}

// An eval folder in the documented layout: a baseline and an offload arm (whose r3 failed), and
// a swept num_cpu_blocks (one cell never ran). Writes OUT/plan.json, experiment.yaml and each
// cell's cell.nlohmann::json + benchmarks.json.
inline void write_folder(const std::filesystem::path& out, const std::vector<CellSpec>& cells) {
  nlohmann::json plan = {{"name", "offload-eval"},
                         {"baseline", "no-offload"},
                         {"created_at", "2026-12-07T04:00:00Z"},
                         {"cells", nlohmann::json::array()}};
  int order = 0;
  for (const auto& c : cells) {
    const std::string config = c.arm.substr(0, c.arm.find('@'));
    nlohmann::json sweep = nullptr;
    if (c.arm.find('@') != std::string::npos) {
      const std::string kv = c.arm.substr(c.arm.find('@') + 1);
      sweep = {{"key", kv.substr(0, kv.find('='))},
               {"value", std::stoi(kv.substr(kv.find('=') + 1))}};
    }
    nlohmann::json entry = {{"id", fmt::format("Qwen3-0.6B/seed/{}/r{}", c.arm, c.repeat)},
                            {"model", "Qwen3-0.6B"},
                            {"workload", "seed"},
                            {"config", config},
                            {"arm", c.arm},
                            {"sweep", sweep},
                            {"repeat", c.repeat},
                            {"order", order++}};
    plan["cells"].push_back(entry);
    if (c.status.empty()) continue;
    const auto dir = out / "cells" / "Qwen3-0.6B" / "seed" / c.arm / fmt::format("r{}", c.repeat);
    nlohmann::json cell = entry;
    cell["status"] = c.status;
    cell["started_at"] = 1796616000.0 + order * 100;  // 2026-12-07 04:00 UTC onwards
    cell["finished_at"] = 1796616000.0 + order * 100 + 90;
    cell["target"] = "http://127.0.0.1:40001";
    std::vector<std::string> serve = {"kvtier", "serve", "Qwen/Qwen3-0.6B", "--port", "40001"};
    if (config == "native-offload") {
      serve.push_back("--kv-transfer-config");
      serve.push_back(R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both"})");
    }
    cell["server_commands"] = nlohmann::json::array({serve});
    cell["router_command"] = nullptr;
    cell["bench_command"] = {"kvtier",      "bench",      "--target", "http://127.0.0.1:40001",
                             "--rate-type", "concurrent", "--rate",   "5,25"};
    cell["monitor_command"] = nullptr;
    cell["versions"] = {{"kvtier", "kvtier 0.9.0 (cpu)"}};
    cell["hardware"] = {{"gpus", nlohmann::json::array({{{"name", "NVIDIA H100 80GB HBM3"},
                                                         {"driver", "580.65"},
                                                         {"memory_total_mib", 81559}}})},
                        {"cpu_model", "Intel Xeon"},
                        {"cpu_count", 16},
                        {"memory_total_bytes", 137438953472.0},
                        {"hostname", "gpu-1"}};
    cell["device"] = "cuda";
    cell["metrics_delta"] = c.metrics_delta;
    if (c.status == "failed") cell["error"] = "server exited with code 1 before /health";
    write_file(dir / "cell.json", cell.dump(2));
    if (c.status == "complete") {
      const double wobble = 1.0 + 0.01 * (c.repeat - 2);  // -1%, 0, +1% over three repeats
      write_file(dir / "benchmarks.json",
                 results_file({scaled(kLow, c.throughput * wobble, 1 / wobble),
                               scaled(kHigh, c.throughput * wobble, 1 / wobble)},
                              c.setup));
    }
  }
  write_file(out / "plan.json", plan.dump(2));
  write_file(out / "experiment.yaml", "name: offload-eval\nrepeats: 3\n");
}

inline std::vector<CellSpec> standard_cells() {
  std::vector<CellSpec> cells;
  for (int r = 1; r <= 3; ++r) {
    cells.push_back({"no-offload", r, "complete", 1.0, delta(1000, 600, 0, 0, 0)});
    cells.push_back({"native-offload", r, r == 3 ? "failed" : "complete", 1.3,
                     delta(1000, 600, 300, 2e9, 0.1)});
    // Plan order puts the larger value first; the sweep chart orders by value.
    cells.push_back({"native-offload@num_cpu_blocks=4000", r, "complete", 1.25});
    cells.push_back({"native-offload@num_cpu_blocks=1000", r, r == 2 ? "" : "complete", 1.1});
  }
  return cells;
}

}  // namespace kvtier::report::testing
