#include "kernels/embedding.h"

#include <cstring>

namespace kvtier::kernels::cpu {

void embedding(ThreadPool& pool, const float* table, int dim, const int32_t* ids, int64_t n,
               float* out) {
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t t = begin; t < end; ++t)
          std::memcpy(out + t * dim, table + int64_t(ids[t]) * dim, sizeof(float) * dim);
      },
      64);
}

}  // namespace kvtier::kernels::cpu
