#pragma once
// The block-major KV layout: one block holds every layer's K and V for its `block_size` tokens
// contiguously, so moving a block between tiers is one copy of block_bytes() (1.75 MiB for
// Qwen3-0.6B in bf16). Inside a block: [layer][k=0, v=1][token][kv_head][head_dim].
#include <cstddef>
#include <cstdint>

namespace kvtier::kv {

struct KvLayout {
  int32_t num_layers = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t block_size = 16;   // tokens per block
  int32_t dtype_bytes = 4;   // 4 on the CPU backend (fp32), 2 on CUDA (bf16)

  // Elements of one token's K (or V) in one layer.
  size_t token_elems() const { return size_t(num_kv_heads) * head_dim; }
  // Elements of one layer's K (or V) in one block.
  size_t plane_elems() const { return token_elems() * block_size; }
  size_t block_elems() const { return plane_elems() * 2 * num_layers; }
  size_t block_bytes() const { return block_elems() * dtype_bytes; }
  // Element offset inside a block of (layer, kv, token) with kv 0 = K, 1 = V.
  size_t elem_offset(int32_t layer, int32_t kv, int32_t token) const {
    return (size_t(layer) * 2 + kv) * plane_elems() + size_t(token) * token_elems();
  }
  size_t bytes_per_token() const { return size_t(num_layers) * 2 * token_elems() * dtype_bytes; }
};

}  // namespace kvtier::kv
