#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

namespace kvtier::kernels::cpu {

void silu_mul(ThreadPool& pool, const float* gate_up, int64_t rows, int inter, float* out) {
  pool.parallel_for(
      rows,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t r = begin; r < end; ++r) {
          const float* gate = gate_up + r * 2 * inter;
          const float* up = gate + inter;
          float* o = out + r * inter;
          for (int i = 0; i < inter; ++i) o[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
        }
      },
      std::max<int64_t>(1, 16384 / inter));
}

}  // namespace kvtier::kernels::cpu
