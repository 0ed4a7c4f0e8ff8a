#include "model/cuda/step_plan.h"

#include <algorithm>

#include "kernels/cuda/attention.h"

namespace kvtier::model::cuda {

using kernels::cuda::kPrefillTileRows;

int32_t StepCapacity::max_tiles() const { return max_tokens / kPrefillTileRows + max_seqs; }

StepSections StepSections::layout(const StepCapacity& cap) {
  StepSections s;
  size_t at = 0;
  auto take = [&](size_t n) {
    const size_t here = at;
    at += (n + 3) / 4 * 4;  // 16-byte aligned sections
    return here;
  };
  s.ids = take(cap.max_tokens);
  s.positions = take(cap.max_tokens);
  s.slots = take(cap.max_tokens);
  s.logit_rows = take(cap.max_seqs);
  s.dec_row = take(cap.max_seqs);
  s.dec_ctx = take(cap.max_seqs);
  s.dec_bto = take(cap.max_seqs);
  s.pre_qoff = take(cap.max_seqs);
  s.pre_qlen = take(cap.max_seqs);
  s.pre_ctx = take(cap.max_seqs);
  s.pre_bto = take(cap.max_seqs);
  s.tiles = take(2 * size_t(cap.max_tiles()));
  s.block_ids = take(cap.max_block_ids);
  s.total = at;
  return s;
}

bool is_decode_only(const ForwardBatch& batch) {
  for (const SeqChunk& s : batch.seqs)
    if (s.tokens.size() != 1) return false;
  return !batch.seqs.empty();
}

Status build_step_plan(const ForwardBatch& batch, const StepCapacity& cap, int32_t block_size,
                       int32_t pad_to, int32_t* packed, StepPlan& plan) {
  const StepSections sec = StepSections::layout(cap);
  const int32_t n_seqs = int32_t(batch.seqs.size());
  const int32_t n_tokens = batch.num_tokens();
  const int32_t padded_seqs = std::max(pad_to, n_seqs);
  const int32_t pad = padded_seqs - n_seqs;
  if (pad > 0 && !is_decode_only(batch))
    return internal_error("step plan: only decode batches are padded ({} sequences)", n_seqs);
  if (n_tokens + pad > cap.max_tokens || padded_seqs > cap.max_seqs)
    return internal_error("step plan: {} tokens / {} sequences exceed the capacity {} / {}",
                          n_tokens + pad, padded_seqs, cap.max_tokens, cap.max_seqs);

  plan = StepPlan{};
  int32_t* ids = packed + sec.ids;
  int32_t* positions = packed + sec.positions;
  int32_t* slots = packed + sec.slots;
  int32_t* logit_rows = packed + sec.logit_rows;
  int32_t* block_ids = packed + sec.block_ids;
  struct Tile {
    int32_t seq, row, work;
  };
  std::vector<Tile> tiles;
  int32_t token = 0;
  for (const SeqChunk& s : batch.seqs) {
    const int32_t q_len = int32_t(s.tokens.size());
    const int32_t context = s.start_pos + q_len;
    const int32_t n_blocks = (context + block_size - 1) / block_size;
    if (int32_t(s.block_table.size()) < n_blocks)
      return internal_error("step plan: a block table of {} blocks for context {}",
                            s.block_table.size(), context);
    if (plan.num_block_ids + n_blocks > cap.max_block_ids)
      return internal_error("step plan: block tables need more than {} entries", cap.max_block_ids);
    const int32_t bto = plan.num_block_ids;
    std::copy_n(s.block_table.begin(), n_blocks, block_ids + bto);
    plan.num_block_ids += n_blocks;
    for (int32_t i = 0; i < q_len; ++i) {
      const int32_t pos = s.start_pos + i;
      ids[token + i] = s.tokens[i];
      positions[token + i] = pos;
      slots[token + i] = s.block_table[pos / block_size] * block_size + pos % block_size;
    }
    if (s.want_logits) logit_rows[plan.num_logit_rows++] = token + q_len - 1;
    if (q_len == 1) {
      const int32_t d = plan.num_decode++;
      packed[sec.dec_row + d] = token;
      packed[sec.dec_ctx + d] = context;
      packed[sec.dec_bto + d] = bto;
    } else if (q_len > 1) {
      const int32_t p = plan.num_prefill++;
      packed[sec.pre_qoff + p] = token;
      packed[sec.pre_qlen + p] = q_len;
      packed[sec.pre_ctx + p] = context;
      packed[sec.pre_bto + p] = bto;
      plan.max_prefill_context = std::max(plan.max_prefill_context, context);
      for (int32_t r = 0; r < q_len; r += kPrefillTileRows)
        tiles.push_back({p, r, s.start_pos + std::min(q_len, r + kPrefillTileRows)});
    }
    token += q_len;
  }
  plan.num_real_logit_rows = plan.num_logit_rows;
  for (int32_t i = 0; i < pad; ++i) {
    const int32_t t = token + i, d = plan.num_decode++;
    ids[t] = 0;
    positions[t] = 0;
    slots[t] = -1;
    logit_rows[plan.num_logit_rows++] = t;
    packed[sec.dec_row + d] = t;
    packed[sec.dec_ctx + d] = 0;
    packed[sec.dec_bto + d] = 0;
  }
  plan.num_tokens = token + pad;
  // The longest tiles first, so the last wave of thread blocks is made of short ones.
  std::stable_sort(tiles.begin(), tiles.end(),
                   [](const Tile& a, const Tile& b) { return a.work > b.work; });
  plan.num_tiles = int32_t(tiles.size());
  for (size_t i = 0; i < tiles.size(); ++i) {
    packed[sec.tiles + 2 * i] = tiles[i].seq;
    packed[sec.tiles + 2 * i + 1] = tiles[i].row;
  }
  return Status::ok();
}

std::vector<ForwardBatch> split_forward_batch(const ForwardBatch& batch, int32_t max_tokens,
                                              int32_t max_seqs) {
  std::vector<ForwardBatch> pieces(1);
  int32_t tokens_in_piece = 0;
  for (const SeqChunk& s : batch.seqs) {
    size_t done = 0;
    do {
      if (tokens_in_piece == max_tokens || int32_t(pieces.back().seqs.size()) == max_seqs) {
        pieces.emplace_back();
        tokens_in_piece = 0;
      }
      const size_t take = std::min(s.tokens.size() - done, size_t(max_tokens - tokens_in_piece));
      SeqChunk c;
      c.tokens = s.tokens.subspan(done, take);
      c.start_pos = s.start_pos + int32_t(done);
      c.block_table = s.block_table;
      done += take;
      c.want_logits = s.want_logits && done == s.tokens.size();
      pieces.back().seqs.push_back(c);
      tokens_in_piece += int32_t(take);
    } while (done < s.tokens.size());
  }
  if (pieces.back().seqs.empty()) pieces.pop_back();
  return pieces;
}

}  // namespace kvtier::model::cuda
