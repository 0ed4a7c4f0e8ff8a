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
  // Each tile's keys are split over num_splits thread blocks per head; with more than one,
  // partial results go to the workspace and a second kernel merges them. For short chunks over
  // long contexts, whose (tile, head) pairs alone leave most of the device idle.
  int32_t num_splits = 1;
};

// Query rows per tile of the prefill kernel: a sequence of q_len tokens needs
// ceil(q_len / kPrefillTileRows) tiles.
inline constexpr int32_t kPrefillTileRows = 128;
// Most key splits per tile, and the fewest keys of the longest context per split.
inline constexpr int32_t kPrefillMaxSplits = 32;
inline constexpr int32_t kPrefillMinSplitKeys = 256;

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
  // Cascade attention's suffix pass: keys start at start_pos[seq] (null: 0), and every split
  // leaves its partial (unnormalised output, log2-unit max, sum) in the workspace for
  // cascade_merge to finish, even with one split; no reduce runs.
  const int32_t* start_pos = nullptr;
  bool partials_only = false;
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

// workspace: prefill_workspace_bytes for meta's tiles and splits (none needed for one split).
KernelStatus prefill_attention(cudaStream_t stream, const AttentionArgs& args,
                               const PrefillAttentionMeta& meta,
                               PrefillKernel kernel = PrefillKernel::kRows32Keys32Stages3,
                               void* workspace = nullptr, size_t workspace_bytes = 0);

size_t prefill_workspace_bytes(int32_t num_tiles, int32_t num_heads, int32_t head_dim,
                               int32_t num_splits);
// Enough workspace for any split count prefill_num_splits picks on a device of num_sms SMs.
size_t prefill_max_workspace_bytes(int32_t num_sms, int32_t head_dim);
// 1 when the (tile, head) pairs already give every SM a thread block (long prompts keep the
// one-pass kernel); otherwise about one full wave (two blocks per SM), at most
// kPrefillMaxSplits and at most one split per kPrefillMinSplitKeys keys of max_context.
int32_t prefill_num_splits(int32_t num_tiles, int32_t num_heads, int32_t max_context,
                           int32_t num_sms);

// Bytes of workspace decode_attention needs for num_seqs x num_heads x num_splits partials.
size_t decode_workspace_bytes(int32_t num_seqs, int32_t num_heads, int32_t head_dim,
                              int32_t num_splits);
// A split count that gives the device about two waves of thread blocks.
int32_t decode_num_splits(int32_t num_seqs, int32_t num_kv_heads, int32_t num_sms);

KernelStatus decode_attention(cudaStream_t stream, const AttentionArgs& args,
                              const DecodeAttentionMeta& meta, void* workspace,
                              size_t workspace_bytes);

// Shared-prefix (cascade) decode attention. Decode sequences whose block tables start with the
// same physical blocks form a group; the prefix pass runs every member's query heads of one kv
// head as the rows of one tensor-core tile over the group's shared keys (no mask: every member's
// position is past them), split into chunks; each member's own keys run through the decode kernel
// from the first unshared position; a merge combines both by log-sum-exp. The launch shape
// depends only on the arguments below, the group layout is data, so a CUDA graph replays any.
struct CascadeAttentionMeta {
  // [0] groups, [1] prefix work items per kv head (group x chunk x row tile).
  const int32_t* header = nullptr;
  // Per group: members [member_begin[g], member_begin[g + 1]) of `members` (decode indices),
  // work items [work_begin[g], work_begin[g + 1]), shared keys [0, shared_len), cut into chunks
  // of chunk_len keys (a multiple of kCascadeKeyTile), first prefix partial row part_begin.
  const int32_t* member_begin = nullptr;
  const int32_t* work_begin = nullptr;
  const int32_t* shared_len = nullptr;
  const int32_t* chunk_len = nullptr;
  const int32_t* part_begin = nullptr;
  const int32_t* members = nullptr;
  // Per decode sequence: its group (-1: none), its index among the group's members, and its
  // first unshared position (0 outside groups).
  const int32_t* seq_group = nullptr;
  const int32_t* seq_local = nullptr;
  const int32_t* seq_start = nullptr;
  // Prefix thread blocks per kv head; they stride over the work items (fixed per graph).
  int32_t work_slots = 1;
  // Most prefix partial rows the group layout may use: the prefix workspace's size.
  int32_t max_parts = 0;
};

// Query rows (member x query head) per prefix tile and keys per K/V tile of the prefix pass.
inline constexpr int32_t kCascadeRowTile = 64;
inline constexpr int32_t kCascadeKeyTile = 64;

// The shapes the prefix kernel is built for (head_dim 64 or 128; 1, 2, 4, 5 or 8 query heads per
// kv head: Qwen3 0.6B to 14B); other models keep the plain decode kernel.
bool cascade_attention_supported(int32_t num_heads, int32_t num_kv_heads, int32_t head_dim);

// Bytes of workspace for `parts` prefix partial rows (member x chunk) of num_heads heads.
size_t cascade_prefix_workspace_bytes(int32_t parts, int32_t num_heads, int32_t head_dim);

// decode_meta is the step's plain decode metadata (its num_splits applies to the suffix pass);
// decode_workspace holds the suffix partials (decode_workspace_bytes with at least one split),
// prefix_workspace the prefix partials.
KernelStatus cascade_decode_attention(cudaStream_t stream, const AttentionArgs& args,
                                      const DecodeAttentionMeta& decode_meta,
                                      const CascadeAttentionMeta& cascade_meta,
                                      void* decode_workspace, size_t decode_workspace_bytes,
                                      void* prefix_workspace, size_t prefix_workspace_bytes);

}  // namespace kvtier::kernels::cuda
