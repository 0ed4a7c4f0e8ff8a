#include "server/dtype_choice.h"

namespace kvtier::server {

Status check_dtype(const std::string& dtype, const std::string& device) {
  if (dtype == "auto") return Status::ok();
  if (device == "cpu") {
    if (dtype == "float" || dtype == "float32") return Status::ok();
    return invalid_argument(
        "--dtype {}: the CPU backend computes in float32 (weights are converted at load); use "
        "--dtype auto or float32",
        dtype);
  }
  if (device == "cuda") {
    if (dtype == "bfloat16") return Status::ok();
    return invalid_argument(
        "--dtype {}: the CUDA backend computes in bfloat16 (float32 accumulation); use --dtype "
        "auto or bfloat16",
        dtype);
  }
  return invalid_argument("--dtype {}: unknown device '{}'", dtype, device);
}

}  // namespace kvtier::server
