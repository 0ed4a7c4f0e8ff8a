#pragma once
// Rotary position embedding, neox style (rotate-half) as Hugging Face's Qwen3: for i < d/2,
//   out[i]       = x[i] cos(p f_i) - x[i + d/2] sin(p f_i)
//   out[i + d/2] = x[i + d/2] cos(p f_i) + x[i] sin(p f_i),   f_i = theta^(-2i/d).
// Angles are formed in fp32 (inv_freq and p * f_i rounded to float) because transformers does
// so even for float64 models; matching it keeps long positions within reference tolerance.
#include <cstdint>
#include <vector>

#include "kernels/thread_pool.h"

namespace kvtier::kernels::cpu {

std::vector<float> rope_inv_freq(int head_dim, double theta);

// In place: row r holds `heads` vectors of head_dim at x + r * stride + h * head_dim, at position
// positions[r].
void apply_rope(ThreadPool& pool, float* x, int64_t stride, int64_t rows, int heads, int head_dim,
                const int32_t* positions, const std::vector<float>& inv_freq);

}  // namespace kvtier::kernels::cpu
