#pragma once
// Elementwise steps of the CPU backend: the residual add.
#include <cstdint>

#include "kernels/thread_pool.h"

namespace kvtier::kernels::cpu {

// x[i] += y[i] for i < n.
void add_inplace(ThreadPool& pool, float* x, const float* y, int64_t n);

}  // namespace kvtier::kernels::cpu
