#include "kernels/rmsnorm.h"

#include <cmath>

namespace kvtier::kernels::cpu {
namespace {

void rmsnorm_row(const float* x, const float* weight, float* out, int dim, float eps) {
  float sum = 0.0f;
  for (int i = 0; i < dim; ++i) sum += x[i] * x[i];
  float inv = 1.0f / std::sqrt(sum / float(dim) + eps);
  for (int i = 0; i < dim; ++i) out[i] = x[i] * inv * weight[i];
}

// Rows per task so that small batches (decode) stay on the calling thread.
int64_t row_grain(int64_t elems_per_row) {
  return elems_per_row >= 8192 ? 1 : 8192 / elems_per_row;
}

}  // namespace

void rmsnorm(ThreadPool& pool, const float* x, int64_t x_stride, const float* weight, float* out,
             int64_t out_stride, int64_t rows, int dim, float eps) {
  pool.parallel_for(
      rows,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t r = begin; r < end; ++r)
          rmsnorm_row(x + r * x_stride, weight, out + r * out_stride, dim, eps);
      },
      row_grain(dim));
}

void rmsnorm_heads(ThreadPool& pool, float* x, int64_t stride, int64_t rows, int heads,
                   int head_dim, const float* weight, float eps) {
  pool.parallel_for(
      rows,
      [&](int64_t begin, int64_t end, int) {
        for (int64_t r = begin; r < end; ++r)
          for (int h = 0; h < heads; ++h) {
            float* v = x + r * stride + int64_t(h) * head_dim;
            rmsnorm_row(v, weight, v, head_dim, eps);
          }
      },
      row_grain(int64_t(heads) * head_dim));
}

}  // namespace kvtier::kernels::cpu
