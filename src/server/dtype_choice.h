#pragma once
// --dtype (vLLM's choices: auto, half, float16, bfloat16, float, float32) against the device the
// engine runs on. Each backend computes in one dtype: the CPU backend in float32 (weights are
// converted at load), the CUDA backend in bfloat16 with float32 accumulation. `auto` and that
// dtype are accepted; any other is refused rather than silently ignored.
#include <string>

#include "common/status.h"

namespace kvtier::server {

// `device` is the resolved one: "cpu" or "cuda".
Status check_dtype(const std::string& dtype, const std::string& device);

}  // namespace kvtier::server
