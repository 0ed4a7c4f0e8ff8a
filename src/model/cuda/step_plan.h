#pragma once
// Turns a ForwardBatch into the integer metadata the CUDA kernels read: token ids, positions, KV
// slots, the rows that want logits, the decode and prefill sequence lists, prefill attention
// tiles and the flattened block tables. Everything goes into one packed int32 array whose
// sections sit at fixed offsets (fixed by the capacities), so the device copy of it keeps the same
// addresses from step to step and captured CUDA graphs can read it. Host-only code.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "model/forward_batch.h"

namespace kvtier::model::cuda {

struct StepCapacity {
  int32_t max_tokens = 0;     // tokens in one device step
  int32_t max_seqs = 0;       // sequences (and logit rows) in one device step
  int32_t max_block_ids = 0;  // block-table entries over all sequences of a step
  int32_t max_tiles() const;
};

// Offsets, in int32 elements, of each section of the packed metadata.
struct StepSections {
  size_t ids = 0, positions = 0, slots = 0, logit_rows = 0;
  size_t dec_row = 0, dec_ctx = 0, dec_bto = 0;
  size_t pre_qoff = 0, pre_qlen = 0, pre_ctx = 0, pre_bto = 0;
  size_t tiles = 0;      // pairs (prefill sequence, first query row)
  size_t block_ids = 0;  // last: only the used part is copied
  size_t total = 0;
  static StepSections layout(const StepCapacity& cap);
};

struct StepPlan {
  int32_t num_tokens = 0;      // including decode padding
  int32_t num_logit_rows = 0;  // including decode padding
  int32_t num_real_logit_rows = 0;
  int32_t num_decode = 0;
  int32_t num_prefill = 0;
  int32_t num_tiles = 0;
  int32_t max_prefill_context = 0;  // longest context among the prefill sequences
  // Set by the runner when cascade attention (cascade_plan.h) serves the decodes: its groups.
  int32_t num_cascade_groups = 0;
  int32_t num_block_ids = 0;
  // int32 elements of the packed array to copy to the device.
  size_t used_elems(const StepSections& s) const { return s.block_ids + size_t(num_block_ids); }
};

// Fills `packed` (StepSections::layout(cap).total elements) for `batch`, which must fit `cap`.
// With pad_to > number of sequences (a decode-only batch replayed through a CUDA graph of that
// size) the sequence lists are padded with dummy decodes of context 0 that write no KV.
// Sequences of one token use the decode kernel, longer chunks the prefill kernel.
Status build_step_plan(const ForwardBatch& batch, const StepCapacity& cap, int32_t block_size,
                       int32_t pad_to, int32_t* packed, StepPlan& plan);

// Cuts a batch into pieces of at most max_tokens tokens and max_seqs sequences, in order. A
// sequence cut in two becomes two chunks (the second continues after the first's KV); only the
// last piece of a sequence keeps want_logits. Spans point into `batch`.
std::vector<ForwardBatch> split_forward_batch(const ForwardBatch& batch, int32_t max_tokens,
                                              int32_t max_seqs);

bool is_decode_only(const ForwardBatch& batch);

}  // namespace kvtier::model::cuda
