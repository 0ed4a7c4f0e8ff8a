#include "server/device_choice.h"

#if KVTIER_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace kvtier::server {
namespace {

#if KVTIER_HAVE_CUDA
// Memory of GPU 0 in GiB, or 0 without a usable GPU.
double gpu_memory_gib() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return 0.0;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    cudaGetLastError();
    return 0.0;
  }
  return double(prop.totalGlobalMem) / double(1ULL << 30);
}
#endif

}  // namespace

Expected<DeviceChoice> resolve_device(const std::string& requested) {
  if (requested == "cpu") return DeviceChoice{"cpu", 0.0};
  if (requested != "auto" && requested != "cuda") {
    return invalid_argument("--device must be cpu, cuda or auto, got '{}'", requested);
  }
#if KVTIER_HAVE_CUDA
  double gib = gpu_memory_gib();
  if (gib > 0) return DeviceChoice{"cuda", gib};
  if (requested == "cuda") {
    return make_error(ErrorCode::kUnavailable, "--device cuda: no CUDA device is visible");
  }
#else
  if (requested == "cuda") {
    return make_error(ErrorCode::kUnimplemented,
                      "--device cuda: this kvtier was built without the CUDA backend "
                      "(configure with -DKVTIER_CUDA=ON)");
  }
#endif
  return DeviceChoice{"cpu", 0.0};
}

}  // namespace kvtier::server
