#include "kernels/rope.h"

#include <cmath>

namespace kvtier::kernels::cpu {

std::vector<float> rope_inv_freq(int head_dim, double theta) {
  std::vector<float> inv(head_dim / 2);
  for (int i = 0; i < head_dim / 2; ++i) {
    float exponent = float(2 * i) / float(head_dim);
    inv[i] = 1.0f / float(std::pow(theta, double(exponent)));
  }
  return inv;
}

void apply_rope(ThreadPool& pool, float* x, int64_t stride, int64_t rows, int heads, int head_dim,
                const int32_t* positions, const std::vector<float>& inv_freq) {
  const int half = head_dim / 2;
  pool.parallel_for(
      rows,
      [&](int64_t begin, int64_t end, int) {
        std::vector<float> cos_v(half), sin_v(half);
        for (int64_t r = begin; r < end; ++r) {
          const float pos = float(positions[r]);
          for (int i = 0; i < half; ++i) {
            const float angle = pos * inv_freq[i];
            cos_v[i] = float(std::cos(double(angle)));
            sin_v[i] = float(std::sin(double(angle)));
          }
          for (int h = 0; h < heads; ++h) {
            float* v = x + r * stride + int64_t(h) * head_dim;
            for (int i = 0; i < half; ++i) {
              const float a = v[i], b = v[i + half];
              v[i] = a * cos_v[i] - b * sin_v[i];
              v[i + half] = b * cos_v[i] + a * sin_v[i];
            }
          }
        }
      },
      16);
}

}  // namespace kvtier::kernels::cpu
