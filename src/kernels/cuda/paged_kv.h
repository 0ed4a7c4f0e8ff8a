#pragma once
// One layer's view of the block-major KV pool (kv/layout.h) as the CUDA kernels address it:
// element (block, token, kv_head, d) of K is k[block * block_stride + token * token_stride +
// kv_head * head_dim + d], and V likewise from v. bf16 throughout.
#include <cuda_bf16.h>

#include <cstdint>

#include "kv/layout.h"

namespace kvtier::kernels::cuda {

using bf16 = __nv_bfloat16;

struct PagedKv {
  bf16* k = nullptr;         // the layer's K plane in block 0
  bf16* v = nullptr;         // the layer's V plane in block 0
  int64_t block_stride = 0;  // elements from one block to the next
  int32_t token_stride = 0;  // elements from one token to the next inside a plane
  int32_t block_size = 16;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
};

inline PagedKv paged_kv_for_layer(void* pool_base, const kv::KvLayout& layout, int32_t layer) {
  auto* base = static_cast<bf16*>(pool_base);
  PagedKv kv;
  kv.k = base + layout.elem_offset(layer, 0, 0);
  kv.v = base + layout.elem_offset(layer, 1, 0);
  kv.block_stride = int64_t(layout.block_elems());
  kv.token_stride = int32_t(layout.token_elems());
  kv.block_size = layout.block_size;
  kv.num_kv_heads = layout.num_kv_heads;
  kv.head_dim = layout.head_dim;
  return kv;
}

}  // namespace kvtier::kernels::cuda
