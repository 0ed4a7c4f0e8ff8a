#pragma once
// CUDA runtime errors as Status: every failing call names the operation that failed. For C++
// files only (fmt does not compile under nvcc); kernels report through KernelStatus.
#include <cuda_runtime.h>

#include "common/status.h"
#include "kernels/cuda/kernel_status.h"

namespace kvtier::kernels::cuda {

inline Status cuda_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::ok();
  return make_error(ErrorCode::kInternal, "CUDA error in {}: {} ({})", what, cudaGetErrorName(err),
                    cudaGetErrorString(err));
}

inline Status to_status(const KernelStatus& k) {
  if (k.ok()) return Status::ok();
  if (k.invalid_argument) return Status(ErrorCode::kInvalidArgument, k.message);
  return cuda_status(k.cuda, k.message.c_str());
}

// Number of usable CUDA devices; 0 when there is no driver or no device (never an error).
inline int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the "no device" error for later callers
    return 0;
  }
  return n;
}

}  // namespace kvtier::kernels::cuda

// Returns a Status naming the call when a CUDA runtime call fails.
#define KVTIER_CUDA_RETURN_IF_ERROR(call)                                   \
  do {                                                                      \
    cudaError_t kvtier_cuda_err_ = (call);                                  \
    if (kvtier_cuda_err_ != cudaSuccess)                                    \
      return ::kvtier::kernels::cuda::cuda_status(kvtier_cuda_err_, #call); \
  } while (0)

// Returns the Status of a failing kernel launcher.
#define KVTIER_KERNEL_RETURN_IF_ERROR(expr)                               \
  do {                                                                    \
    ::kvtier::kernels::cuda::KernelStatus kvtier_kernel_status_ = (expr); \
    if (!kvtier_kernel_status_.ok())                                      \
      return ::kvtier::kernels::cuda::to_status(kvtier_kernel_status_);   \
  } while (0)
