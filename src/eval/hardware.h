#pragma once
// What a cell ran on, for cell.json: GPUs (nvidia-smi when present), CPU model and count, memory
// and host name. Read once per eval run.
#include <nlohmann/json.hpp>

namespace kvtier::eval {

nlohmann::json probe_hardware();

}  // namespace kvtier::eval
