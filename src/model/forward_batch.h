#pragma once
// What the engine asks of a model runner in one step: for each scheduled sequence, the tokens
// to compute, where they start, and the sequence's block table.
#include <cstdint>
#include <span>
#include <vector>

namespace kvtier::model {

struct SeqChunk {
  // Tokens computed this step (a prefill chunk, or the one decode token). Positions are
  // start_pos .. start_pos + tokens.size() - 1; KV for positions < start_pos is already in the
  // cache; the KV of these tokens is written into the cache by the forward pass.
  std::span<const int32_t> tokens;
  int32_t start_pos = 0;
  // Physical block ids covering positions [0, start_pos + tokens.size()).
  std::span<const int32_t> block_table;
  // Produce logits for the last token of the chunk (false for a non-final prefill chunk).
  bool want_logits = true;
};

struct ForwardBatch {
  std::vector<SeqChunk> seqs;
  int32_t num_tokens() const {
    int32_t n = 0;
    for (const auto& s : seqs) n += int32_t(s.tokens.size());
    return n;
  }
  int32_t num_logit_rows() const {
    int32_t n = 0;
    for (const auto& s : seqs) n += s.want_logits ? 1 : 0;
    return n;
  }
};

}  // namespace kvtier::model
