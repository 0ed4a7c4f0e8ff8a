#pragma once
// Token embedding lookup: out[t] = table[ids[t]]. Ids are checked against the vocabulary by the
// caller (the model runner reports a bad id with the sequence it came from).
#include <cstdint>

#include "kernels/thread_pool.h"

namespace kvtier::kernels::cpu {

void embedding(ThreadPool& pool, const float* table, int dim, const int32_t* ids, int64_t n,
               float* out);

}  // namespace kvtier::kernels::cpu
