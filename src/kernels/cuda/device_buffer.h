#pragma once
// Owning handles for device memory (cudaMalloc) and pinned host memory (cudaHostAlloc).
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "common/status.h"
#include "kernels/cuda/cuda_check.h"

namespace kvtier::kernels::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  static Expected<DeviceBuffer> allocate(size_t bytes, const char* what) {
    DeviceBuffer b;
    if (bytes == 0) return b;
    cudaError_t err = cudaMalloc(&b.ptr_, bytes);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return make_error(ErrorCode::kResourceExhausted,
                        "cannot allocate {} bytes of device memory for {}: {}", bytes, what,
                        cudaGetErrorString(err));
    }
    b.bytes_ = bytes;
    return b;
  }

  void reset() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { reset(); }
  PinnedBuffer(PinnedBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  static Expected<PinnedBuffer> allocate(size_t bytes, const char* what) {
    PinnedBuffer b;
    if (bytes == 0) return b;
    cudaError_t err = cudaHostAlloc(&b.ptr_, bytes, cudaHostAllocDefault);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return make_error(ErrorCode::kResourceExhausted,
                        "cannot allocate {} bytes of pinned host memory for {}: {}", bytes, what,
                        cudaGetErrorString(err));
    }
    b.bytes_ = bytes;
    return b;
  }

  void reset() {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace kvtier::kernels::cuda
