#include "eval/plan.h"

#include <fmt/format.h>

#include "eval/yaml_fields.h"

namespace kvtier::eval {

std::vector<Arm> expand_arms(const Experiment& e) {
  std::vector<Arm> arms;
  for (const auto& c : e.configs) {
    if (!c.sweep) {
      arms.push_back({c.name, c.name, std::nullopt, nullptr, false});
      continue;
    }
    for (const auto& value : c.sweep->values) {
      Arm a;
      a.name = fmt::format("{}@{}={}", c.name, c.sweep->key, json_to_arg(value));
      a.config = c.name;
      a.sweep_key = c.sweep->key;
      a.sweep_value = value;
      a.sweep_extra_config = c.sweep->extra_config;
      arms.push_back(std::move(a));
    }
  }
  return arms;
}

std::vector<Cell> make_plan(const Experiment& e) {
  const std::vector<Arm> arms = expand_arms(e);
  std::vector<Cell> cells;
  for (const auto& m : e.models) {
    for (const auto& w : e.workloads) {
      for (int r = 1; r <= e.repeats; ++r) {
        for (size_t i = 0; i < arms.size(); ++i) {
          const Arm& a = arms[(i + size_t(r - 1)) % arms.size()];
          Cell c;
          c.id = fmt::format("{}/{}/{}/r{}", m.name, w.name, a.name, r);
          c.model = m.name;
          c.workload = w.name;
          c.arm = a;
          c.repeat = r;
          c.order = int(cells.size());
          cells.push_back(std::move(c));
        }
      }
    }
  }
  return cells;
}

nlohmann::json cell_json(const Cell& c) {
  nlohmann::json sweep = nullptr;
  if (c.arm.sweep_key) sweep = {{"key", *c.arm.sweep_key}, {"value", c.arm.sweep_value}};
  return {{"id", c.id},          {"model", c.model},   {"workload", c.workload},
          {"config", c.arm.config}, {"arm", c.arm.name}, {"sweep", sweep},
          {"repeat", c.repeat},  {"order", c.order}};
}

nlohmann::json plan_json(const Experiment& e, const std::vector<Cell>& cells,
                         const std::string& created_at) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : cells) list.push_back(cell_json(c));
  return {{"name", e.name}, {"baseline", e.baseline}, {"created_at", created_at}, {"cells", list}};
}

std::vector<std::pair<std::string, nlohmann::json>> arm_flags(const Experiment& e, const Arm& a,
                                                              const WorkloadSpec* w) {
  const ConfigSpec* config = e.find_config(a.config);
  if (!config) return {};
  auto flags = config->flags;
  for (auto& [flag, value] : flags) {
    if (!a.sweep_key) break;
    if (!a.sweep_extra_config && flag == *a.sweep_key) value = a.sweep_value;
    if (a.sweep_extra_config && flag == "kv-transfer-config" && value.is_object()) {
      value["kv_connector_extra_config"][*a.sweep_key] = a.sweep_value;
    }
  }
  if (!w) return flags;
  for (const auto& [flag, value] : w->serve_flags) {
    bool replaced = false;
    for (auto& [f, v] : flags) {
      if (f == flag) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) flags.emplace_back(flag, value);
  }
  return flags;
}

}  // namespace kvtier::eval
