#include "model/forward_batch_check.h"

namespace kvtier::model {

Status check_forward_batch(const ForwardBatch& batch, const ModelConfig& config, int32_t block_size,
                           int32_t num_blocks) {
  for (size_t s = 0; s < batch.seqs.size(); ++s) {
    const SeqChunk& seq = batch.seqs[s];
    if (seq.tokens.empty()) return invalid_argument("sequence {} of the batch has no tokens", s);
    if (seq.start_pos < 0)
      return invalid_argument("sequence {}: start_pos {} is negative", s, seq.start_pos);
    const int64_t end = int64_t(seq.start_pos) + int64_t(seq.tokens.size());
    if (end > config.max_position_embeddings)
      return make_error(ErrorCode::kOutOfRange,
                        "sequence {}: positions up to {} exceed max_position_embeddings {}", s,
                        end - 1, config.max_position_embeddings);
    for (size_t i = 0; i < seq.tokens.size(); ++i) {
      const int32_t id = seq.tokens[i];
      if (id < 0 || id >= config.vocab_size)
        return make_error(ErrorCode::kOutOfRange,
                          "sequence {}: token id {} at position {} is outside the vocabulary "
                          "(size {})",
                          s, id, int64_t(seq.start_pos) + int64_t(i), config.vocab_size);
    }
    const int64_t blocks_needed = (end + block_size - 1) / block_size;
    if (int64_t(seq.block_table.size()) < blocks_needed)
      return invalid_argument("sequence {}: block table has {} blocks, positions 0..{} need {}", s,
                              seq.block_table.size(), end - 1, blocks_needed);
    for (int64_t b = 0; b < blocks_needed; ++b) {
      const int32_t id = seq.block_table[b];
      if (id < 0 || id >= num_blocks)
        return make_error(ErrorCode::kOutOfRange,
                          "sequence {}: block table entry {} is block {}, outside the pool of {} "
                          "blocks",
                          s, b, id, num_blocks);
    }
  }
  return Status::ok();
}

}  // namespace kvtier::model
