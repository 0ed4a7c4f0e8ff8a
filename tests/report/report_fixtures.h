#pragma once
// Synthetic benchmarks.json files and eval folders for the report tests, in the layouts
// `kvtier bench` and `kvtier eval` write (docs/report.md).
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
           {{"mean", mean}, {"median", median}, {"percentiles", {{"p50", median}, {"p99", 2 * median}}}}},
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
  for (double* v : {&l.lat_mean, &l.lat_median, &l.ttft_mean, &l.ttft_median, &l.itl_mean,
                    &l.itl_median}) {
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

}  // namespace kvtier::report::testing
