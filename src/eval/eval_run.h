#pragma once
// `kvtier eval EXPERIMENT.yaml`: the output folder, the plan, resume, the cells in order, and the
// report at the end. Returns the process exit code: 0 all cells complete, 1 a cell failed (or
// the setup did), 2 a usage error (bad experiment file, OUT in the way), 130/143 interrupted.
#include <filesystem>
#include <string>

#include "eval/experiment.h"
#include "eval/plan.h"

namespace kvtier::eval {

struct EvalOptions {
  std::filesystem::path experiment;
  std::filesystem::path out;  // empty: results/<name>-<UTC timestamp>
  bool resume = false;
  bool dry_run = false;
  std::string kvtier;  // empty: this binary
  std::filesystem::path model_cache;  // empty: default_model_cache()
  int health_timeout_s = 600;
};

int run_eval(const EvalOptions& options);

// The estimated seconds of one cell: levels x (max_seconds + per-level overhead) plus the
// engines' start and stop (docs/eval.md gives the figures).
double estimate_cell_seconds(const Experiment& e, const Cell& c);

// The --dry-run text: every cell in order with its commands, and the estimated duration.
std::string describe_plan(const Experiment& e, const std::vector<Cell>& cells,
                          const std::string& kvtier, const std::filesystem::path& out,
                          const std::filesystem::path& model_cache);

}  // namespace kvtier::eval
