#pragma once
// Shared-prefix groups of a step's decode sequences for cascade attention
// (kernels/cuda/attention.h): sequences whose block tables start with the same physical block ids
// share those blocks' KV (the prefix cache gives identical prefixes identical blocks), so one
// prefix pass can serve all of them. The plan is packed into int32 sections at fixed offsets (fixed
// by the step capacity) like the step plan, so a captured CUDA graph reads any step's groups.
// Host-only code.
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/status.h"
#include "model/forward_batch.h"

namespace kvtier::model::cuda {

// When sharing pays: the prefix pass and the merge cost two launches per layer, so a group needs
// enough keys read once instead of many times. vLLM's heuristic also starts at 256 shared tokens.
struct CascadeOptions {
  int32_t min_shared_tokens = 256;
  int32_t min_members = 2;
  int32_t min_saved_tokens = 8192;  // (members - 1) x shared tokens
};

// What the prefix pass runs on: it sizes the work items so the device is busy.
struct CascadeGeometry {
  int32_t num_kv_heads = 1;
  int32_t q_per_kv = 1;    // query heads per kv head
  int32_t work_slots = 1;  // prefix thread blocks per kv head (cascade_work_slots)
};

// Offsets, in int32 elements, of each section of the packed cascade metadata.
struct CascadeSections {
  size_t header = 0;  // [0] groups, [1] prefix work items per kv head
  size_t member_begin = 0, work_begin = 0, shared_len = 0, chunk_len = 0, part_begin = 0;
  size_t members = 0, seq_group = 0, seq_local = 0, seq_start = 0;
  size_t total = 0;
  static CascadeSections layout(int32_t max_seqs);
};

struct CascadePlan {
  int32_t num_groups = 0;
  int32_t num_members = 0;
  int32_t work_items = 0;     // per kv head
  int32_t parts = 0;          // prefix partial rows used (<= cascade_max_parts)
  int32_t shared_tokens = 0;  // over all groups: keys each member no longer reads itself
};

// Most chunks one group's prefix is cut into.
inline constexpr int32_t kCascadeMaxChunks = 32;

// Prefix partial rows (member x chunk) the workspace holds for steps of max_seqs sequences.
int32_t cascade_max_parts(int32_t max_seqs);
// Prefix thread blocks per kv head: one wave at two blocks per SM.
int32_t cascade_work_slots(int32_t num_sms, int32_t num_kv_heads);

// Groups the decode sequences (one token each, in batch order: the step plan's decode indices)
// of `batch`; num_decode counts them plus the step's padding, which never joins a group. Fills
// `packed` (CascadeSections::layout(max_seqs).total elements). plan.num_groups == 0: no group
// pays, the step keeps the plain decode kernel.
Status build_cascade_plan(const ForwardBatch& batch, int32_t block_size, int32_t num_decode,
                          int32_t max_seqs, const CascadeOptions& options,
                          const CascadeGeometry& geometry, int32_t* packed, CascadePlan& plan);

}  // namespace kvtier::model::cuda
