#include "kernels/elementwise.h"

namespace kvtier::kernels::cpu {

void add_inplace(ThreadPool& pool, float* x, const float* y, int64_t n) {
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t i = begin; i < end; ++i) x[i] += y[i];
      },
      1 << 15);
}

}  // namespace kvtier::kernels::cpu
