#include "model/offline_generator.h"

#include <algorithm>
#include <random>

namespace kvtier::model {
namespace {

struct Sequence {
  GenerateOutput out;
  std::vector<int32_t> tokens;  // prompt then output
  std::vector<int32_t> blocks;
  int32_t computed = 0;  // tokens whose KV is in the cache
  bool finished = false;
  std::mt19937_64 rng;
};

Status check_prompts(const ModelRunner& runner, const std::vector<std::vector<int32_t>>& prompts,
                     const GenerateParams& params) {
  const ModelConfig& c = runner.config();
  if (params.max_tokens < 1)
    return invalid_argument("max_tokens must be at least 1, got {}", params.max_tokens);
  if (params.max_num_batched_tokens < 1)
    return invalid_argument("max_num_batched_tokens must be positive, got {}",
                            params.max_num_batched_tokens);
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) return invalid_argument("prompt {} is empty", i);
    for (int32_t id : prompts[i])
      if (id < 0 || id >= c.vocab_size)
        return make_error(ErrorCode::kOutOfRange,
                          "prompt {}: token id {} is outside the vocabulary (size {})", i, id,
                          c.vocab_size);
    const int64_t len = int64_t(prompts[i].size()) + params.max_tokens;
    if (len > c.max_position_embeddings)
      return make_error(
          ErrorCode::kOutOfRange,
          "prompt {}: {} prompt tokens + {} new tokens exceed the model's {} positions", i,
          prompts[i].size(), params.max_tokens, c.max_position_embeddings);
  }
  return Status::ok();
}

// Samples the token that follows `seq` from its logits row and records it.
void append_token(Sequence& seq, std::span<const float> row, const GenerateParams& params) {
  if (params.logprobs > 0) seq.out.logprobs.push_back(top_logprobs(row, params.logprobs));
  const int32_t token = sample_token(row, params.temperature, seq.rng);
  seq.out.output_ids.push_back(token);
  seq.tokens.push_back(token);
  const bool stop = std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), token) !=
                    params.stop_token_ids.end();
  if (stop || int32_t(seq.out.output_ids.size()) >= params.max_tokens) {
    seq.finished = true;
    seq.out.finish_reason = stop ? "stop" : "length";
  }
}

}  // namespace

Expected<std::vector<GenerateOutput>> generate(ModelRunner& runner,
                                               const std::vector<std::vector<int32_t>>& prompts,
                                               const GenerateParams& params) {
  KVTIER_RETURN_IF_ERROR(check_prompts(runner, prompts, params));
  const kv::KvPool pool = runner.kv_pool();
  const int32_t bs = pool.layout.block_size;
  const int32_t vocab = runner.config().vocab_size;

  std::vector<Sequence> seqs(prompts.size());
  int64_t next_block = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Sequence& s = seqs[i];
    s.out.prompt_ids = prompts[i];
    s.tokens = prompts[i];
    s.rng.seed(params.seed * 0x9e3779b97f4a7c15ull + i);
    const int64_t need = (int64_t(prompts[i].size()) + params.max_tokens + bs - 1) / bs;
    if (next_block + need > pool.num_blocks)
      return make_error(
          ErrorCode::kResourceExhausted,
          "the prompts need more than the KV pool's {} blocks of {} tokens (prompt {} "
          "reaches block {}); give a larger KV cache or fewer prompts",
          pool.num_blocks, bs, i, next_block + need);
    for (int64_t b = 0; b < need; ++b) s.blocks.push_back(int32_t(next_block++));
  }

  std::vector<float> logits;
  for (;;) {
    // One step: every decoding sequence's next token, then prompt chunks within the budget.
    ForwardBatch batch;
    std::vector<Sequence*> order;
    int32_t budget = params.max_num_batched_tokens;
    for (auto& s : seqs) {
      if (s.finished || s.computed < int32_t(s.out.prompt_ids.size()) || budget == 0) continue;
      batch.seqs.push_back(
          {std::span(s.tokens).subspan(s.computed, 1), s.computed, s.blocks, true});
      order.push_back(&s);
      --budget;
    }
    for (auto& s : seqs) {
      const int32_t remaining = int32_t(s.out.prompt_ids.size()) - s.computed;
      if (remaining <= 0 || budget == 0) continue;
      const int32_t n = std::min(remaining, budget);
      batch.seqs.push_back(
          {std::span(s.tokens).subspan(s.computed, n), s.computed, s.blocks, n == remaining});
      order.push_back(&s);
      budget -= n;
    }
    if (batch.seqs.empty()) break;
    KVTIER_RETURN_IF_ERROR(runner.forward(batch, logits));
    int64_t row = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      Sequence& s = *order[i];
      s.computed += int32_t(batch.seqs[i].tokens.size());
      if (!batch.seqs[i].want_logits) continue;
      append_token(s, std::span<const float>(logits).subspan(row * vocab, vocab), params);
      ++row;
    }
  }
  std::vector<GenerateOutput> outputs;
  for (auto& s : seqs) outputs.push_back(std::move(s.out));
  return outputs;
}

}  // namespace kvtier::model
