#pragma once
// One cell of an experiment, start to end: engines (+ router) up and healthy, /metrics before,
// monitor, bench, /metrics after, everything stopped, cell.json written. Against an external
// target only the observing steps run. Runs on eval's main thread, which owns every child.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/experiment.h"
#include "eval/plan.h"

namespace kvtier::eval {

struct RunSettings {
  std::string kvtier;  // the binary every child runs
  std::filesystem::path out;
  std::filesystem::path model_cache;
  bool monitor = false;
  std::chrono::seconds health_timeout{600};
  std::chrono::seconds stop_timeout{30};
  nlohmann::json versions = nlohmann::json::object();
  nlohmann::json hardware = nlohmann::json::object();
};

enum class CellStatus { kComplete, kFailed, kInterrupted };

struct CellResult {
  CellStatus status = CellStatus::kFailed;
  std::string error;
  double seconds = 0;
  int levels_done = 0;
};

// Called about once a second while bench runs: finished levels so far.
using LevelProgress = std::function<void(int levels_done)>;

std::filesystem::path cell_dir(const std::filesystem::path& out, const Cell& c);

// The cell's status from its cell.json ("" when there is none or it cannot be read).
std::string read_cell_status(const std::filesystem::path& out, const Cell& c);

CellResult run_cell(const Experiment& e, const RunSettings& s, const Cell& c,
                    const LevelProgress& progress);

// Writes JSON to `path` through a temporary file and a rename, so a reader (or a SIGKILL) never
// sees half a file.
bool write_json_atomic(const std::filesystem::path& path, const nlohmann::json& doc);

}  // namespace kvtier::eval
