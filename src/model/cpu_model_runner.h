#pragma once
// The CPU backend: a Qwen3 decoder in fp32 over weights converted at load, GEMMs through BLAS
// batched over every token of the step, attention over the paged fp32 KV pool, all on one
// thread pool. Called only from the engine thread.
#include <cstddef>
#include <memory>
#include <vector>

#include "kernels/attention.h"
#include "kernels/thread_pool.h"
#include "model/cpu_weights.h"
#include "model/model_runner.h"

namespace kvtier::model {

class CpuModelRunner final : public ModelRunner {
 public:
  static Expected<std::unique_ptr<CpuModelRunner>> create(const RunnerOptions& options);
  ~CpuModelRunner() override;

  const ModelConfig& config() const override { return config_; }
  const kv::KvLayout& kv_layout() const override { return layout_; }
  kv::KvPool kv_pool() override;
  Status forward(const ForwardBatch& batch, std::vector<float>& logits) override;

 private:
  CpuModelRunner() = default;
  void run_layer(int layer, int64_t tokens);

  ModelConfig config_;
  kv::KvLayout layout_;
  std::unique_ptr<kernels::ThreadPool> pool_;
  CpuWeights weights_;
  std::vector<float> inv_freq_;
  // The KV pool: anonymous memory, zero pages until touched.
  std::byte* kv_base_ = nullptr;
  size_t kv_bytes_ = 0;
  int32_t num_blocks_ = 0;

  // Per-step scratch, grown to the largest step seen.
  struct Scratch {
    std::vector<int32_t> ids, positions;
    std::vector<float> hidden, normed, qkv, attn, proj, gate_up, act, final_rows;
    std::vector<kernels::cpu::AttentionSeq> seqs;
    std::vector<int64_t> logit_rows;
  } s_;
};

}  // namespace kvtier::model
