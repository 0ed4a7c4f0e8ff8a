#pragma once
// RMSNorm as Qwen3 uses it: x / sqrt(mean(x^2) + eps) * weight, in fp32.
#include <cstdint>

#include "kernels/thread_pool.h"

namespace kvtier::kernels::cpu {

// Normalizes `rows` rows of `dim` elements; strides are in elements.
void rmsnorm(ThreadPool& pool, const float* x, int64_t x_stride, const float* weight, float* out,
             int64_t out_stride, int64_t rows, int dim, float eps);

// In place, per attention head (Qwen3's q_norm / k_norm): row r holds `heads` vectors of head_dim
// at x + r * stride + h * head_dim, each normalized with the same weight[head_dim].
void rmsnorm_heads(ThreadPool& pool, float* x, int64_t stride, int64_t rows, int heads,
                   int head_dim, const float* weight, float eps);

}  // namespace kvtier::kernels::cpu
