#pragma once
// Owning handles for device memory (cudaMalloc) and pinned host memory (cudaHostAlloc).
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "common/status.h"
#include "kernels/cuda/cuda_check.h"

namespace kvtier::kernels::cuda {

// One owning handle, parameterised by how its memory is allocated and freed.
template <typename Memory>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  ~CudaBuffer() { reset(); }
  CudaBuffer(CudaBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(o.bytes_) {}
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  static Expected<CudaBuffer> allocate(size_t bytes, const char* what) {
    CudaBuffer b;
    if (bytes == 0) return b;
    cudaError_t err = Memory::allocate(&b.ptr_, bytes);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return make_error(ErrorCode::kResourceExhausted, "cannot allocate {} bytes of {} for {}: {}",
                        bytes, Memory::kName, what, cudaGetErrorString(err));
    }
    b.bytes_ = bytes;
    return b;
  }

  void reset() {
    if (ptr_) Memory::release(ptr_);
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

struct DeviceMemory {
  static constexpr const char* kName = "device memory";
  static cudaError_t allocate(void** ptr, size_t bytes) { return cudaMalloc(ptr, bytes); }
  static void release(void* ptr) { cudaFree(ptr); }
};

struct PinnedHostMemory {
  static constexpr const char* kName = "pinned host memory";
  static cudaError_t allocate(void** ptr, size_t bytes) {
    return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault);
  }
  static void release(void* ptr) { cudaFreeHost(ptr); }
};

using DeviceBuffer = CudaBuffer<DeviceMemory>;
using PinnedBuffer = CudaBuffer<PinnedHostMemory>;

}  // namespace kvtier::kernels::cuda
