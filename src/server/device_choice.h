#pragma once
// --device auto|cpu|cuda resolved against this build and machine.
#include <string>

#include "common/status.h"

namespace kvtier::server {

struct DeviceChoice {
  std::string device;       // "cpu" or "cuda"
  double memory_gib = 0.0;  // the GPU's memory; 0 on the CPU
};

// "auto" picks CUDA when this build has it and a GPU is visible. "cuda" without either is an
// error that says which is missing.
Expected<DeviceChoice> resolve_device(const std::string& requested);

}  // namespace kvtier::server
