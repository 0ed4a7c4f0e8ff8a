#pragma once
// The CUDA backend: a Qwen3 decoder in bf16 with fp32 accumulation on one GPU. GEMMs go through
// cuBLASLt (or a weight-streaming kernel for a few rows), attention reads the paged bf16 KV pool,
// and decode-only steps replay CUDA graphs captured per padded batch size. Called only from the
// engine thread; all device work is on kernels::cuda::compute_stream(), which the offload copy
// engine orders its copies after.
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/gemm.h"
#include "model/cuda/cascade_plan.h"
#include "model/cuda/cuda_weights.h"
#include "model/cuda/step_plan.h"
#include "model/model_runner.h"

namespace kvtier::model::cuda {

class CudaModelRunner final : public ModelRunner {
 public:
  struct Tuning {
    bool cuda_graphs = true;
    kernels::cuda::SmallBatchGemm small_batch = kernels::cuda::SmallBatchGemm::kAuto;
    kernels::cuda::PrefillKernel prefill_kernel =
        kernels::cuda::PrefillKernel::kRows32Keys32Stages3;
    // Our kernels start while the previous one drains (programmatic dependent launch, sm_90+;
    // ignored on older devices).
    bool dependent_launch = true;
    // Where the scalar GEMV serves the gate/up projection, SiLU-mul runs inside it. Off: with
    // dependent launches the separate SiLU kernel costs less than the fused GEMV loses in
    // bandwidth (docs/performance.md).
    bool fuse_gate_up_silu = false;
    // Decode sequences sharing a prefix read its KV once per step for all of them (cascade
    // attention) where the shape is supported and a group is worth it: its members share at
    // least cascade_min_shared_tokens and save at least cascade_min_saved_tokens key reads
    // ((members - 1) x shared; CascadeOptions). Off by default until its tests have passed on
    // a GPU (docs/gpu.md).
    bool cascade_attention = true;
    int32_t cascade_min_shared_tokens = CascadeOptions{}.min_shared_tokens;
    int32_t cascade_min_saved_tokens = CascadeOptions{}.min_saved_tokens;
  };

  static Expected<std::unique_ptr<CudaModelRunner>> create(const RunnerOptions& options,
                                                           const Tuning& tuning);
  // Seeded random weights made on the device: the real shapes without a checkpoint on disk.
  static Expected<std::unique_ptr<CudaModelRunner>> create_random(const ModelConfig& config,
                                                                  const RunnerOptions& options,
                                                                  uint64_t seed,
                                                                  const Tuning& tuning);
  ~CudaModelRunner() override;

  const ModelConfig& config() const override { return config_; }
  const kv::KvLayout& kv_layout() const override { return layout_; }
  kv::KvPool kv_pool() override;
  Status forward(const ForwardBatch& batch, std::vector<float>& logits) override;

  // Greedy decoding's fast path: the arg-max runs on the device and only ids cross PCIe.
  Status forward_greedy(const ForwardBatch& batch, std::vector<int32_t>& ids);
  // Sampling on the device (cuda_sampling.cpp): only ids and log-probabilities cross PCIe.
  bool samples_on_device() const override { return true; }
  Status forward_sample(const ForwardBatch& batch, std::span<const SampleSpec> specs,
                        std::vector<SampledToken>& tokens) override;
  // Runs the batch, keeps the logits on the device and waits for the step (benchmarks).
  Status forward_on_device(const ForwardBatch& batch);

  // Switches kernels (benchmarks compare them on one set of weights); drops captured graphs.
  void set_tuning(const Tuning& tuning);
  const Tuning& tuning() const { return tuning_; }

  size_t weight_bytes() const { return weights_.bytes(); }
  int32_t num_captured_graphs() const { return int32_t(graphs_.size()); }
  // Cascade groups of the last device step (0: plain decode attention).
  int32_t last_cascade_groups() const { return last_cascade_groups_; }
  // Largest decode batch replayed through a CUDA graph (0: graphs off).
  int32_t max_graph_batch() const;

 private:
  enum class Output { kNone, kLogits, kGreedy, kSample };
  CudaModelRunner() = default;
  static Expected<std::unique_ptr<CudaModelRunner>> finish(std::unique_ptr<CudaModelRunner> r,
                                                           const RunnerOptions& options,
                                                           const Tuning& tuning);
  Status run(const ForwardBatch& batch, Output out, std::vector<float>* logits,
             std::vector<int32_t>* ids);
  Status run_piece(const ForwardBatch& piece, bool use_graph, StepPlan& plan);
  // Groups the piece's decodes and uploads the groups when cascade attention pays.
  Status plan_cascade(const ForwardBatch& piece, StepPlan& plan);
  Status enqueue_step(const StepPlan& plan);
  Status enqueue_layer(int32_t layer, const StepPlan& plan);
  int32_t graph_bucket(int32_t num_seqs) const;
  // Samples the current piece's logits rows, which are rows [first_row, first_row + rows) of
  // the batch that forward_sample() runs, into sample_out_ (cuda_sampling.cpp).
  Status sample_piece(size_t first_row, size_t rows);
  bool dependent_launch() const { return tuning_.dependent_launch && dependent_launch_supported_; }

  ModelConfig config_;
  kv::KvLayout layout_;
  Tuning tuning_;
  cudaStream_t stream_ = nullptr;
  int32_t num_sms_ = 0;
  bool dependent_launch_supported_ = false;  // compute capability 9.0 or later
  CudaWeights weights_;
  std::unique_ptr<kernels::cuda::Gemm> gemm_;
  kernels::cuda::DeviceBuffer kv_;
  int32_t num_blocks_ = 0;

  // Step metadata: packed on the host (pinned), copied once per step to a device buffer whose
  // address never changes (captured graphs read it).
  StepCapacity cap_;
  StepSections sections_;
  kernels::cuda::PinnedBuffer meta_host_;
  kernels::cuda::DeviceBuffer meta_dev_;
  // Cascade groups, the same way (copied only on steps that use them), and the prefix pass's
  // partials. Allocated when the model's shape is supported.
  bool cascade_supported_ = false;
  CascadeSections cascade_sections_;
  kernels::cuda::PinnedBuffer cascade_host_;
  kernels::cuda::DeviceBuffer cascade_dev_, cascade_ws_;
  int32_t last_cascade_groups_ = 0;

  // Activations for cap_.max_tokens tokens.
  struct Activations {
    kernels::cuda::DeviceBuffer residual, normed, qkv, q, attn, proj, gate_up, act;
    kernels::cuda::DeviceBuffer final_rows, logits, greedy_ids, decode_ws, inv_freq;
  } a_;

  // forward_sample(): the batch's specs and results while it runs, and the per-row parameters
  // and results staged through pinned memory (allocated on first use for cap_.max_seqs rows).
  std::span<const SampleSpec> sample_specs_;
  std::vector<SampledToken>* sample_out_ = nullptr;
  kernels::cuda::PinnedBuffer sample_params_host_, sample_results_host_;
  kernels::cuda::DeviceBuffer sample_params_dev_, sample_results_dev_;

  // Decode graphs by padded batch size (times two, plus one with cascade attention), captured
  // on first use.
  std::map<int32_t, cudaGraphExec_t> graphs_;
};

}  // namespace kvtier::model::cuda
