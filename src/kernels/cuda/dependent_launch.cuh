#pragma once
// Programmatic dependent launch (sm_90+). A kernel launched with `dependent = true` may start
// while the kernel before it on the stream is still draining: it runs its independent prologue
// (weight loads that no earlier kernel writes), then waits in wait_for_previous_kernel() until
// the previous grid has finished and its writes are visible. Kernels call
// allow_next_kernel() first thing so the next kernel's blocks can be scheduled onto SMs as soon
// as this grid's last blocks are resident. In a replayed CUDA graph this hides each launch's fill
// and drain (a few microseconds per kernel, ~10 kernels per layer) behind its neighbour.
//
// Every kernel launched with `dependent = true` must call wait_for_previous_kernel() before it
// reads anything an earlier kernel wrote and before it writes anything; the wait is transitive
// (the previous kernel completed only after its own wait), so a kernel may read the output of any
// earlier kernel after it. Without the launch attribute (or before sm_90) both calls are no-ops.
#include <cuda_runtime.h>

#include <utility>

namespace kvtier::kernels::cuda {

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// kernel<<<grid, block, smem, stream>>>(args...), with the programmatic-serialization attribute
// when `dependent` is set.
template <typename... KernelArgs, typename... Args>
cudaError_t launch_kernel(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem,
                          cudaStream_t stream, bool dependent, Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attr;
  config.numAttrs = dependent ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace kvtier::kernels::cuda
