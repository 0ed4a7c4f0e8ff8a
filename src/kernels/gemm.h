#pragma once
// Dense matrix products of the CPU backend through BLAS (OpenBLAS's sgemm), split over the pool's
// threads by output columns so one thread system drives all cores.
#include <cstdint>

#include "kernels/thread_pool.h"

namespace kvtier::kernels::cpu {

// y[m][n] = sum_k x[m][k] * w[n][k]: a linear layer with w stored [out_features][in_features]
// (the checkpoint's layout). x rows are k apart, y rows n apart.
void linear(ThreadPool& pool, const float* x, int64_t m, int64_t k, const float* w, int64_t n,
            float* y);

// Keeps BLAS itself single-threaded: the pool provides the parallelism, and BLAS calls made from
// several pool threads at once must not each start their own threads.
void use_single_threaded_blas();

}  // namespace kvtier::kernels::cpu
