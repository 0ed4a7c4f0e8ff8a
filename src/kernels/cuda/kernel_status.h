#pragma once
// What the CUDA launchers (.cu files) return. nvcc cannot compile fmt, which common/status.h
// uses, so kernels report with this small type and C++ callers turn it into a Status with
// to_status() (cuda_check.h).
#include <cuda_runtime.h>

#include <string>
#include <type_traits>

namespace kvtier::kernels::cuda {

struct [[nodiscard]] KernelStatus {
  bool invalid_argument = false;  // a bad shape or argument; otherwise `cuda` says what failed
  cudaError_t cuda = cudaSuccess;
  std::string message;
  bool ok() const { return !invalid_argument && cuda == cudaSuccess; }
};

namespace detail {
inline std::string message_piece(const char* s) { return s; }
inline std::string message_piece(const std::string& s) { return s; }
template <typename T>
requires std::is_arithmetic_v<T> std::string message_piece(T v) { return std::to_string(v); }
}  // namespace detail

inline KernelStatus kernel_ok() { return {}; }

template <typename... Parts>
KernelStatus kernel_arg_error(const Parts&... parts) {
  return {true, cudaSuccess, (std::string() + ... + detail::message_piece(parts))};
}

inline KernelStatus kernel_cuda_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return {};
  return {false, err, what};
}

// The error of the last launch on this thread (bad configuration, no kernel image for the GPU).
inline KernelStatus kernel_launch_status(const char* kernel) {
  return kernel_cuda_status(cudaGetLastError(), kernel);
}

}  // namespace kvtier::kernels::cuda
