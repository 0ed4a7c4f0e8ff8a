#include "model/cpu_model_runner.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "model/checkpoint.h"
#include "model/forward_batch_check.h"

namespace kvtier::model {

namespace cpu = kernels::cpu;

Expected<std::unique_ptr<CpuModelRunner>> CpuModelRunner::create(const RunnerOptions& options) {
  if (options.block_size <= 0)
    return invalid_argument("block_size must be positive, got {}", options.block_size);
  std::unique_ptr<CpuModelRunner> r(new CpuModelRunner());
  KVTIER_ASSIGN_OR_RETURN(r->config_,
                          resolve_model_config(options.model_dir, options.load_format));
  r->pool_ = std::make_unique<kernels::ThreadPool>(options.num_threads);
  if (options.load_format == LoadFormat::kDummy) {
    KVTIER_ASSIGN_OR_RETURN(r->weights_, random_cpu_weights(r->config_, options.seed, *r->pool_));
  } else {
    KVTIER_ASSIGN_OR_RETURN(auto checkpoint, Checkpoint::open(options.model_dir));
    KVTIER_ASSIGN_OR_RETURN(r->weights_, load_cpu_weights(r->config_, checkpoint, *r->pool_));
  }
  const ModelConfig& c = r->config_;
  r->inv_freq_ = cpu::rope_inv_freq(c.head_dim, c.rope_theta);

  r->layout_ = kv::KvLayout{c.num_hidden_layers, c.num_key_value_heads, c.head_dim,
                            options.block_size, int32_t(sizeof(float))};
  const size_t block_bytes = r->layout_.block_bytes();
  if (options.num_gpu_blocks > 0) {
    r->num_blocks_ = options.num_gpu_blocks;
  } else {
    const int64_t blocks = options.cpu_kv_cache_bytes / int64_t(block_bytes);
    if (blocks <= 0)
      return invalid_argument("cpu_kv_cache_bytes {} holds no KV block of {} bytes",
                              options.cpu_kv_cache_bytes, block_bytes);
    r->num_blocks_ = int32_t(std::min<int64_t>(blocks, INT32_MAX));
  }
  r->kv_bytes_ = size_t(r->num_blocks_) * block_bytes;
  void* p =
      ::mmap(nullptr, r->kv_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return make_error(ErrorCode::kResourceExhausted,
                      "cannot allocate a KV pool of {} blocks ({} bytes)", r->num_blocks_,
                      r->kv_bytes_);
  r->kv_base_ = static_cast<std::byte*>(p);
  return r;
}

CpuModelRunner::~CpuModelRunner() {
  if (kv_base_) ::munmap(kv_base_, kv_bytes_);
}

kv::KvPool CpuModelRunner::kv_pool() {
  return kv::KvPool{kv::Device::kCpu, kv_base_, num_blocks_, layout_};
}

void CpuModelRunner::run_layer(int layer, int64_t tokens) {
  const ModelConfig& c = config_;
  const CpuLayerWeights& w = weights_.layers[layer];
  kernels::ThreadPool& pool = *pool_;
  const int64_t h = c.hidden_size, d = c.head_dim;
  const int64_t q_dim = c.num_attention_heads * d, kv_dim = c.num_key_value_heads * d;
  const int64_t qkv_dim = q_dim + 2 * kv_dim, inter = c.intermediate_size;
  const float eps = float(c.rms_norm_eps);

  cpu::rmsnorm(pool, s_.hidden.data(), h, w.input_norm.data(), s_.normed.data(), h, tokens, int(h),
               eps);
  cpu::linear(pool, s_.normed.data(), tokens, h, w.qkv.data(), qkv_dim, s_.qkv.data());
  float* q = s_.qkv.data();
  float* k = q + q_dim;
  const float* v = k + kv_dim;
  cpu::rmsnorm_heads(pool, q, qkv_dim, tokens, c.num_attention_heads, int(d), w.q_norm.data(), eps);
  cpu::rmsnorm_heads(pool, k, qkv_dim, tokens, c.num_key_value_heads, int(d), w.k_norm.data(), eps);
  cpu::apply_rope(pool, q, qkv_dim, tokens, c.num_attention_heads, int(d), s_.positions.data(),
                  inv_freq_);
  cpu::apply_rope(pool, k, qkv_dim, tokens, c.num_key_value_heads, int(d), s_.positions.data(),
                  inv_freq_);
  float* kv_base = reinterpret_cast<float*>(kv_base_);
  cpu::write_kv(pool, k, v, qkv_dim, s_.seqs, kv_base, layout_, layer);
  cpu::paged_attention(pool, q, qkv_dim, s_.attn.data(), q_dim, s_.seqs, kv_base, layout_, layer,
                       c.num_attention_heads, float(1.0 / std::sqrt(double(d))));
  cpu::linear(pool, s_.attn.data(), tokens, q_dim, w.o_proj.data(), h, s_.proj.data());
  cpu::add_inplace(pool, s_.hidden.data(), s_.proj.data(), tokens * h);

  cpu::rmsnorm(pool, s_.hidden.data(), h, w.post_norm.data(), s_.normed.data(), h, tokens, int(h),
               eps);
  cpu::linear(pool, s_.normed.data(), tokens, h, w.gate_up.data(), 2 * inter, s_.gate_up.data());
  cpu::silu_mul(pool, s_.gate_up.data(), tokens, int(inter), s_.act.data());
  cpu::linear(pool, s_.act.data(), tokens, inter, w.down.data(), h, s_.proj.data());
  cpu::add_inplace(pool, s_.hidden.data(), s_.proj.data(), tokens * h);
}

Status CpuModelRunner::forward(const ForwardBatch& batch, std::vector<float>& logits) {
  KVTIER_RETURN_IF_ERROR(check_forward_batch(batch, config_, layout_.block_size, num_blocks_));
  const ModelConfig& c = config_;
  const int64_t tokens = batch.num_tokens();
  const int64_t h = c.hidden_size, d = c.head_dim;
  const int64_t q_dim = c.num_attention_heads * d, kv_dim = c.num_key_value_heads * d;

  s_.ids.clear();
  s_.positions.clear();
  s_.seqs.clear();
  s_.logit_rows.clear();
  for (const SeqChunk& seq : batch.seqs) {
    const int64_t row = int64_t(s_.ids.size());
    s_.seqs.push_back({row, int32_t(seq.tokens.size()), seq.start_pos, seq.block_table.data()});
    for (size_t i = 0; i < seq.tokens.size(); ++i) {
      s_.ids.push_back(seq.tokens[i]);
      s_.positions.push_back(seq.start_pos + int32_t(i));
    }
    if (seq.want_logits) s_.logit_rows.push_back(row + int64_t(seq.tokens.size()) - 1);
  }
  const int64_t rows = int64_t(s_.logit_rows.size());
  logits.resize(size_t(rows) * c.vocab_size);
  if (tokens == 0) return Status::ok();

  s_.hidden.resize(tokens * h);
  s_.normed.resize(tokens * h);
  s_.qkv.resize(tokens * (q_dim + 2 * kv_dim));
  s_.attn.resize(tokens * q_dim);
  s_.proj.resize(tokens * h);
  s_.gate_up.resize(tokens * 2 * c.intermediate_size);
  s_.act.resize(tokens * c.intermediate_size);

  cpu::embedding(*pool_, weights_.embed.data(), int(h), s_.ids.data(), tokens, s_.hidden.data());
  for (int l = 0; l < c.num_hidden_layers; ++l) run_layer(l, tokens);
  if (rows == 0) return Status::ok();

  // Only the rows that want logits go through the final norm and the LM head.
  s_.final_rows.resize(rows * h);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(s_.normed.data() + r * h, s_.hidden.data() + s_.logit_rows[r] * h,
                sizeof(float) * h);
  cpu::rmsnorm(*pool_, s_.normed.data(), h, weights_.final_norm.data(), s_.final_rows.data(), h,
               rows, int(h), float(c.rms_norm_eps));
  cpu::linear(*pool_, s_.final_rows.data(), rows, h, weights_.lm_head_data(), c.vocab_size,
              logits.data());
  return Status::ok();
}

}  // namespace kvtier::model
