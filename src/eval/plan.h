#pragma once
// The run order of an experiment: every cell (model x workload x arm x repeat). Within each
// (model, workload) the repeats follow each other and the arms rotate by one position per repeat
// (repeat 1: A B C, repeat 2: B C A, repeat 3: C A B), so that drift of the machine over time
// does not bias one arm.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/experiment.h"

namespace kvtier::eval {

// A config with one swept value applied (or the config itself when it sweeps nothing).
struct Arm {
  std::string name;    // "<config>" or "<config>@<key>=<value>"
  std::string config;  // the config's name
  std::optional<std::string> sweep_key;
  nlohmann::json sweep_value;  // null without a sweep
  bool sweep_extra_config = false;
};

struct Cell {
  std::string id;  // "<model>/<workload>/<arm>/r<k>", also the cell's folder under cells/
  std::string model;
  std::string workload;
  Arm arm;
  int repeat = 1;  // 1-based
  int order = 0;   // position in the run order
};

std::vector<Arm> expand_arms(const Experiment& e);
std::vector<Cell> make_plan(const Experiment& e);

// plan.json and the plan entry's fields that every cell.json repeats (docs/eval.md).
nlohmann::json cell_json(const Cell& c);
nlohmann::json plan_json(const Experiment& e, const std::vector<Cell>& cells,
                         const std::string& created_at);

// The serve flags of an arm: the config's flags with the swept value in place, in file order,
// then the workload's serve_flags (replacing a flag of the same name where it stood).
std::vector<std::pair<std::string, nlohmann::json>> arm_flags(const Experiment& e, const Arm& a,
                                                              const WorkloadSpec* w = nullptr);

}  // namespace kvtier::eval
