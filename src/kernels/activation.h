#pragma once
// The SiLU-gated MLP's elementwise step: out = silu(gate) * up.
#include <cstdint>

#include "kernels/thread_pool.h"

namespace kvtier::kernels::cpu {

// gate_up rows hold [gate(inter) | up(inter)] (the fused gate/up projection's output);
// out rows hold inter elements.
void silu_mul(ThreadPool& pool, const float* gate_up, int64_t rows, int inter, float* out);

}  // namespace kvtier::kernels::cpu
