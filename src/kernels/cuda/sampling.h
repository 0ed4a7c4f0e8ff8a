#pragma once
// Greedy sampling on the device: the arg-max of each logits row (lowest index on ties).
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/kernel_status.h"

namespace kvtier::kernels::cuda {

KernelStatus argmax_rows(cudaStream_t stream, const float* logits, int32_t rows, int32_t vocab,
                         int32_t* ids);

}  // namespace kvtier::kernels::cuda
