#pragma once
// A model runner whose outputs depend on exactly what it reads back from the paged KV cache.
// For each computed token it writes into the token's slot (through the block table) a state
// chained from the previous position's slot, plus the token and position; logits come from a
// hash of every slot visible to the last token. A wrong block table, a block reused while still
// needed, or a bad prefix hit changes the outputs (or fails the forward pass outright when a
// slot holds another position).
#include <cstring>
#include <functional>
#include <vector>

#include "model/model_runner.h"

namespace kvtier::engine::testing {

inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class FakeModelRunner : public model::ModelRunner {
 public:
  struct Options {
    int32_t vocab_size = 101;
    int32_t num_blocks = 256;
    int32_t block_size = 4;
    int32_t max_position_embeddings = 4096;
    int32_t eos_token_id = -1;
  };

  explicit FakeModelRunner(Options o) : options_(o) {
    config_.vocab_size = o.vocab_size;
    config_.max_position_embeddings = o.max_position_embeddings;
    config_.eos_token_id = o.eos_token_id;
    config_.num_hidden_layers = 1;
    config_.num_key_value_heads = 1;
    config_.head_dim = 2;
    layout_.num_layers = 1;
    layout_.num_kv_heads = 1;
    layout_.head_dim = 2;
    layout_.block_size = o.block_size;
    layout_.dtype_bytes = 4;
    storage_.assign(size_t(o.num_blocks) * layout_.block_elems(), 0.0f);
  }

  const model::ModelConfig& config() const override { return config_; }
  const kv::KvLayout& kv_layout() const override { return layout_; }
  kv::KvPool kv_pool() override {
    return kv::KvPool{kv::Device::kCpu, reinterpret_cast<std::byte*>(storage_.data()),
                      options_.num_blocks, layout_};
  }

  Status forward(const model::ForwardBatch& batch, std::vector<float>& logits) override {
    ++forward_calls;
    max_batch_tokens = std::max(max_batch_tokens, batch.num_tokens());
    max_batch_seqs = std::max(max_batch_seqs, int32_t(batch.seqs.size()));
    if (on_forward) on_forward(batch);
    if (!fail_next.is_ok()) {
      Status s = fail_next;
      fail_next = Status::ok();
      return s;
    }
    logits.assign(size_t(batch.num_logit_rows()) * size_t(config_.vocab_size), 0.0f);
    size_t row = 0;
    for (const auto& seq : batch.seqs) {
      const int32_t end = seq.start_pos + int32_t(seq.tokens.size());
      if (seq.tokens.empty()) return internal_error("empty chunk");
      if (int64_t(seq.block_table.size()) * layout_.block_size < end) {
        return internal_error("block table of {} blocks does not cover {} tokens",
                              seq.block_table.size(), end);
      }
      uint64_t state = 0x5EEDull;
      if (seq.start_pos > 0) {
        KVTIER_RETURN_IF_ERROR(read(seq.block_table, seq.start_pos - 1, state));
      }
      for (size_t i = 0; i < seq.tokens.size(); ++i) {
        const int32_t pos = seq.start_pos + int32_t(i);
        state = mix64(state ^ (uint64_t(uint32_t(seq.tokens[i])) << 20) ^ uint64_t(pos));
        write(seq.block_table, pos, state, seq.tokens[i]);
      }
      if (!seq.want_logits) continue;
      uint64_t h = 0;
      for (int32_t pos = 0; pos < end; ++pos) {
        uint64_t s;
        KVTIER_RETURN_IF_ERROR(read(seq.block_table, pos, s));
        h = mix64(h ^ s);
      }
      float* out = logits.data() + row * size_t(config_.vocab_size);
      for (int32_t v = 0; v < config_.vocab_size; ++v) {
        out[v] = float(mix64(h ^ (uint64_t(v) * 0x100000001B3ull)) % 1000) / 50.0f;
      }
      ++row;
    }
    return Status::ok();
  }

  int64_t forward_calls = 0;
  int32_t max_batch_tokens = 0;
  int32_t max_batch_seqs = 0;
  Status fail_next;
  std::function<void(const model::ForwardBatch&)> on_forward;

 private:
  float* slot(std::span<const int32_t> table, int32_t pos, int32_t kv) {
    const int32_t block = table[size_t(pos / layout_.block_size)];
    return storage_.data() + size_t(block) * layout_.block_elems() +
           layout_.elem_offset(0, kv, pos % layout_.block_size);
  }
  void write(std::span<const int32_t> table, int32_t pos, uint64_t state, int32_t token) {
    std::memcpy(slot(table, pos, 0), &state, sizeof(state));
    const uint32_t meta[2] = {uint32_t(token), uint32_t(pos) + 1};
    std::memcpy(slot(table, pos, 1), meta, sizeof(meta));
  }
  Status read(std::span<const int32_t> table, int32_t pos, uint64_t& state) {
    uint32_t meta[2];
    std::memcpy(meta, slot(table, pos, 1), sizeof(meta));
    if (meta[1] != uint32_t(pos) + 1) {
      return internal_error("the KV slot for position {} holds position {}", pos,
                            int64_t(meta[1]) - 1);
    }
    std::memcpy(&state, slot(table, pos, 0), sizeof(state));
    return Status::ok();
  }

  Options options_;
  model::ModelConfig config_;
  kv::KvLayout layout_;
  std::vector<float> storage_;
};

}  // namespace kvtier::engine::testing
