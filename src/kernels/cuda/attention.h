#pragma once
// Paged causal attention over the block-major KV pool, bf16 in and out, fp32 softmax.
// q and out are [tokens][num_heads][head_dim]; a sequence's keys are positions [0, context_len)
// read through its block table (a row of `block_ids` starting at block_table_offset). The KV of
// the tokens being computed must already be in the pool (qk_norm_rope_kv_write runs first).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/kernel_status.h"
#include "kernels/cuda/paged_kv.h"

namespace kvtier::kernels::cuda {

// Sequences computing a chunk of several tokens (prefill, chunked prefill over a cached prefix).
// Query row r of sequence i has position context_len[i] - q_len[i] + r.
struct PrefillAttentionMeta {
  const int32_t* q_offset = nullptr;            // [num_seqs] first token row of the chunk
  const int32_t* q_len = nullptr;               // [num_seqs]
  const int32_t* context_len = nullptr;         // [num_seqs]
  const int32_t* block_table_offset = nullptr;  // [num_seqs]
  const int32_t* block_ids = nullptr;
  const int2* tiles = nullptr;  // [num_tiles] (sequence, first query row)
  int32_t num_tiles = 0;
};

// Query rows per tile of the prefill kernel: a sequence of q_len tokens needs
// ceil(q_len / kPrefillTileRows) tiles.
inline constexpr int32_t kPrefillTileRows = 128;

// Sequences computing one token (decode). context_len 0 marks padding: its output is zero.
struct DecodeAttentionMeta {
  const int32_t* token_row = nullptr;           // [num_seqs] row of q and out
  const int32_t* context_len = nullptr;         // [num_seqs]
  const int32_t* block_table_offset = nullptr;  // [num_seqs]
  const int32_t* block_ids = nullptr;
  int32_t num_seqs = 0;
  // Each (sequence, kv head) is split over num_splits thread blocks (flash-decoding); with more
  // than one, partial results go to the workspace and a second kernel merges them. Fixed per
  // launch shape so that a captured CUDA graph stays valid for any context lengths.
  int32_t num_splits = 1;
};

// Prefill kernel shapes: 8 warps of 16 query rows each (Q fragments held in registers) over key
// tiles of 64, or 4 warps of 32 rows (two row tiles share every K/V fragment read from shared
// memory; Q re-read from shared memory; two thread blocks per SM) over key tiles of 64 or 32,
// the 32-key shape also with 3 or 4 K/V buffers in flight instead of 2.
enum class PrefillKernel {
  kRows16Keys64,
  kRows32Keys64,
  kRows32Keys32,
  kRows32Keys32Stages3,
  kRows32Keys32Stages4
};
const char* prefill_kernel_name(PrefillKernel k);

struct AttentionArgs {
  const bf16* q = nullptr;
  bf16* out = nullptr;
  PagedKv kv;
  int32_t num_heads = 0;
  float scale = 0.f;  // softmax scale, 1 / sqrt(head_dim)
  // Decode kernels only: programmatic dependent launches (dependent_launch.cuh).
  bool dependent_launch = false;
};

KernelStatus prefill_attention(cudaStream_t stream, const AttentionArgs& args,
                               const PrefillAttentionMeta& meta,
                               PrefillKernel kernel = PrefillKernel::kRows32Keys32Stages3);

// Bytes of workspace decode_attention needs for num_seqs x num_heads x num_splits partials.
size_t decode_workspace_bytes(int32_t num_seqs, int32_t num_heads, int32_t head_dim,
                              int32_t num_splits);
// A split count that gives the device about two waves of thread blocks.
int32_t decode_num_splits(int32_t num_seqs, int32_t num_kv_heads, int32_t num_sms);

KernelStatus decode_attention(cudaStream_t stream, const AttentionArgs& args,
                              const DecodeAttentionMeta& meta, void* workspace,
                              size_t workspace_bytes);

}  // namespace kvtier::kernels::cuda
