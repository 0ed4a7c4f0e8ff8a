#pragma once
// The only code that touches the device: turns a ForwardBatch into logits, reading and writing
// the paged KV cache through block tables. Owned and called by the engine thread.
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "kv/layout.h"
#include "kv/pool.h"
#include "model/config.h"
#include "model/forward_batch.h"
#include "model/load_format.h"
#include "model/sample_spec.h"

namespace kvtier::model {

struct RunnerOptions {
  std::filesystem::path model_dir;     // with LoadFormat::kDummy, also a preset name (load_format.h)
  LoadFormat load_format = LoadFormat::kAuto;
  uint64_t seed = 0;                   // of the dummy weights
  std::string device = "cpu";          // "cpu" or "cuda"
  int32_t block_size = 16;
  int32_t num_gpu_blocks = -1;         // -1: size the pool from memory (gpu_memory_utilization)
  double gpu_memory_utilization = 0.9; // CUDA: fraction of device memory; CPU: ignored
  int64_t cpu_kv_cache_bytes = 1LL << 30;  // CPU backend pool size when num_gpu_blocks is -1
  int32_t max_num_batched_tokens = 8192;   // sizes activation buffers
  int32_t max_num_seqs = 256;
  int32_t num_threads = 0;             // CPU backend: 0 = all cores
  bool enforce_eager = false;          // CUDA: no graph capture (vLLM's --enforce-eager)
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual const ModelConfig& config() const = 0;
  virtual const kv::KvLayout& kv_layout() const = 0;
  virtual kv::KvPool kv_pool() = 0;
  // Runs the batch; `logits` is resized to [batch.num_logit_rows()][vocab_size] (fp32, row-major,
  // rows in the order of the sequences that want logits).
  virtual Status forward(const ForwardBatch& batch, std::vector<float>& logits) = 0;

  // Whether forward_sample() is available: the runner samples where the logits are, and only
  // token ids and log-probabilities come back.
  virtual bool samples_on_device() const { return false; }
  // Runs the batch and samples one token per logits row with `specs[row]`; `tokens` is resized
  // to batch.num_logit_rows().
  virtual Status forward_sample(const ForwardBatch& batch, std::span<const SampleSpec> specs,
                                std::vector<SampledToken>& tokens);
};

Expected<std::unique_ptr<ModelRunner>> create_model_runner(const RunnerOptions& options);

}  // namespace kvtier::model
