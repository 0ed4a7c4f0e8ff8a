// CudaModelRunner::forward_sample: the step runs as for forward(), then each piece's logits rows
// are sampled where they are (kernels::cuda::sample_rows) and only the per-row results, ~180
// bytes instead of vocab_size x 4, are copied back.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/sampling.h"
#include "model/cuda/cuda_model_runner.h"

namespace kvtier::model::cuda {
namespace kc = kernels::cuda;

static_assert(kMaxSampleLogprobs == kc::kMaxSampleLogprobs,
              "the model's and the kernel's logprob limits must agree");

namespace {

Status check_spec(const SampleSpec& s, size_t row) {
  if (!(s.temperature >= 0.0f) || !std::isfinite(s.temperature))
    return invalid_argument("sample row {}: temperature must be finite and >= 0, got {}", row,
                            s.temperature);
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f))
    return invalid_argument("sample row {}: top_p must be in (0, 1], got {}", row, s.top_p);
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f))
    return invalid_argument("sample row {}: min_p must be in [0, 1], got {}", row, s.min_p);
  if (s.num_logprobs < -1 || s.num_logprobs > kMaxSampleLogprobs)
    return invalid_argument("sample row {}: num_logprobs must be in [-1, {}], got {}", row,
                            kMaxSampleLogprobs, s.num_logprobs);
  return Status::ok();
}

kc::SampleRowParams to_row_params(const SampleSpec& s) {
  kc::SampleRowParams p;
  p.temperature = s.temperature;
  p.top_k = s.top_k;
  p.top_p = s.top_p;
  p.min_p = s.min_p;
  p.seed = s.seed;
  p.counter = s.counter;
  p.num_logprobs = s.num_logprobs;
  return p;
}

}  // namespace

Status CudaModelRunner::forward_sample(const ForwardBatch& batch, std::span<const SampleSpec> specs,
                                       std::vector<SampledToken>& tokens) {
  const size_t rows = size_t(batch.num_logit_rows());
  if (specs.size() != rows)
    return invalid_argument("forward_sample: {} sampling specs for {} logits rows", specs.size(),
                            rows);
  for (size_t i = 0; i < rows; ++i) KVTIER_RETURN_IF_ERROR(check_spec(specs[i], i));
  if (sample_params_dev_.bytes() == 0) {
    // A piece never has more logits rows than sequences (run() splits at cap_.max_seqs).
    const size_t n = size_t(cap_.max_seqs);
    KVTIER_ASSIGN_OR_RETURN(sample_params_host_,
                            kc::PinnedBuffer::allocate(n * sizeof(kc::SampleRowParams),
                                                       "sampling parameters (host)"));
    KVTIER_ASSIGN_OR_RETURN(sample_results_host_,
                            kc::PinnedBuffer::allocate(n * sizeof(kc::SampleRowResult),
                                                       "sampling results (host)"));
    KVTIER_ASSIGN_OR_RETURN(sample_params_dev_,
                            kc::DeviceBuffer::allocate(n * sizeof(kc::SampleRowParams),
                                                       "sampling parameters"));
    KVTIER_ASSIGN_OR_RETURN(sample_results_dev_,
                            kc::DeviceBuffer::allocate(n * sizeof(kc::SampleRowResult),
                                                       "sampling results"));
  }
  tokens.resize(rows);
  sample_specs_ = specs;
  sample_out_ = &tokens;
  const Status status = run(batch, Output::kSample, nullptr, nullptr);
  sample_specs_ = {};
  sample_out_ = nullptr;
  return status;
}

Status CudaModelRunner::sample_piece(size_t first_row, size_t rows) {
  if (sample_out_ == nullptr || first_row + rows > sample_specs_.size() ||
      rows > size_t(cap_.max_seqs))
    return internal_error("sample_piece: rows [{}, {}) outside the {} specs of this batch",
                          first_row, first_row + rows, sample_specs_.size());
  auto* params = sample_params_host_.get<kc::SampleRowParams>();
  bool small_top_k = false;
  for (size_t r = 0; r < rows; ++r) {
    params[r] = to_row_params(sample_specs_[first_row + r]);
    small_top_k |= params[r].temperature >= kc::kGreedyTemperature &&
                   kc::takes_small_top_k(params[r], config_.vocab_size);
  }
  // Parameters in and results out go through the SMs, not a copy engine, which may be busy
  // with KV-tier stores or loads of many megabytes queued before them.
  static_assert(sizeof(kc::SampleRowParams) % 4 == 0 && sizeof(kc::SampleRowResult) % 4 == 0);
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::copy_words(stream_, reinterpret_cast<const uint32_t*>(params),
                                               sample_params_dev_.get<uint32_t>(),
                                               int64_t(rows * sizeof(kc::SampleRowParams) / 4)));
  // Both launches give the same tokens; the general one is lighter when no row needs the other.
  const auto sample = small_top_k ? kc::sample_rows : kc::sample_rows_general;
  KVTIER_KERNEL_RETURN_IF_ERROR(sample(stream_, a_.logits.get<float>(), int32_t(rows),
                                       config_.vocab_size,
                                       sample_params_dev_.get<kc::SampleRowParams>(),
                                       sample_results_dev_.get<kc::SampleRowResult>()));
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::copy_words(stream_, sample_results_dev_.get<uint32_t>(),
                                               sample_results_host_.get<uint32_t>(),
                                               int64_t(rows * sizeof(kc::SampleRowResult) / 4)));
  // The pinned parameters are rewritten by the next piece and the results read below.
  KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  const auto* results = sample_results_host_.get<kc::SampleRowResult>();
  for (size_t r = 0; r < rows; ++r) {
    const kc::SampleRowResult& in = results[r];
    SampledToken& out = (*sample_out_)[first_row + r];
    out.id = in.id;
    out.logprob = in.logprob;
    out.top.clear();
    if (sample_specs_[first_row + r].num_logprobs < 0) continue;
    const int32_t n = std::min(in.num_top, kMaxSampleLogprobs);
    for (int32_t j = 0; j < n; ++j) out.top.emplace_back(in.top_ids[j], in.top_logprobs[j]);
  }
  return Status::ok();
}

}  // namespace kvtier::model::cuda
