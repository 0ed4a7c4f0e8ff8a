#pragma once
// The stream the CUDA model runner computes on, shared with the offload copy engine so that a
// copy of a KV block can be ordered after the step that wrote it (an event recorded here, waited
// on by the copy stream) without blocking the host. Created on first use; lives for the process.
// Header-only (an inline function's static is one object program-wide), so the KV module can use
// it without linking the kernels library.
#include <cuda_runtime.h>

namespace kvtier::kernels::cuda {

inline cudaStream_t compute_stream() {
  static const cudaStream_t stream = [] {
    cudaStream_t s = nullptr;
    if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) {
      cudaGetLastError();
      return cudaStream_t{nullptr};  // no device: callers fail on their first real CUDA call
    }
    return s;
  }();
  return stream;
}

}  // namespace kvtier::kernels::cuda
