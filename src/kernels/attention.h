#pragma once
// Causal grouped-query attention over the paged, block-major KV cache (kv/layout.h): each
// sequence's new tokens attend to every cached position up to their own.
#include <cstdint>
#include <span>

#include "kernels/thread_pool.h"
#include "kv/layout.h"

namespace kvtier::kernels::cpu {

struct AttentionSeq {
  int64_t row = 0;         // first row of this sequence's tokens in q, k, v and out
  int32_t num_tokens = 0;  // new tokens, at positions start_pos .. start_pos + num_tokens - 1
  int32_t start_pos = 0;   // positions before it are already in the cache
  const int32_t* block_table = nullptr;  // covers positions [0, start_pos + num_tokens)
};

// Stores each new token's K and V (rows `stride` apart, num_kv_heads * head_dim each) for `layer`
// in its cache slot: block block_table[pos / block_size], slot pos % block_size.
void write_kv(ThreadPool& pool, const float* k, const float* v, int64_t stride,
              std::span<const AttentionSeq> seqs, float* kv_base, const kv::KvLayout& layout,
              int32_t layer);

// out = softmax(q k^T * scale, causal) v per head, with q head h reading kv head
// h / (num_heads / num_kv_heads). q and out rows hold num_heads * head_dim elements.
void paged_attention(ThreadPool& pool, const float* q, int64_t q_stride, float* out,
                     int64_t out_stride, std::span<const AttentionSeq> seqs, const float* kv_base,
                     const kv::KvLayout& layout, int32_t layer, int num_heads, float scale);

}  // namespace kvtier::kernels::cpu
