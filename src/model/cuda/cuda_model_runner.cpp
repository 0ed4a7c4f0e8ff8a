#include "model/cuda/cuda_model_runner.h"

#include <algorithm>
#include <cmath>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/compute_stream.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/rope_kv.h"
#include "kernels/cuda/sampling.h"
#include "model/checkpoint.h"
#include "model/cuda/cuda_runner.h"
#include "model/forward_batch_check.h"

namespace kvtier::model {

Expected<std::unique_ptr<ModelRunner>> create_cuda_model_runner(const RunnerOptions& options) {
  cuda::CudaModelRunner::Tuning tuning;
  tuning.cuda_graphs = !options.enforce_eager;
  KVTIER_ASSIGN_OR_RETURN(auto runner, cuda::CudaModelRunner::create(options, tuning));
  return std::unique_ptr<ModelRunner>(std::move(runner));
}

namespace cuda {
namespace kc = kernels::cuda;
using kc::DeviceBuffer;

namespace {

// Memory left out of the KV pool for cuBLASLt's internal state, graph instantiation and the CUDA
// context's own growth.
constexpr size_t kReserveBytes = 512ull << 20;
constexpr int32_t kMaxGraphBatch = 512;

Status no_device_error() {
  return make_error(ErrorCode::kUnavailable,
                    "device 'cuda': no CUDA device is available (cudaGetDeviceCount found none)");
}

template <typename T>
Status alloc(DeviceBuffer& buf, size_t count, const char* what) {
  KVTIER_ASSIGN_OR_RETURN(buf,
                          DeviceBuffer::allocate(std::max<size_t>(count, 1) * sizeof(T), what));
  return Status::ok();
}

}  // namespace

Expected<std::unique_ptr<CudaModelRunner>> CudaModelRunner::create(const RunnerOptions& options,
                                                                   const Tuning& tuning) {
  if (kc::cuda_device_count() == 0) return no_device_error();
  std::unique_ptr<CudaModelRunner> r(new CudaModelRunner());
  r->stream_ = kc::compute_stream();
  KVTIER_ASSIGN_OR_RETURN(r->config_,
                          resolve_model_config(options.model_dir, options.load_format));
  if (options.load_format == LoadFormat::kDummy) {
    // Generated on the device: an 8B or 14B model is ready in well under a second.
    KVTIER_ASSIGN_OR_RETURN(r->weights_,
                            random_cuda_weights(r->config_, options.seed, r->stream_));
  } else {
    KVTIER_ASSIGN_OR_RETURN(auto checkpoint, Checkpoint::open(options.model_dir));
    KVTIER_ASSIGN_OR_RETURN(r->weights_, load_cuda_weights(r->config_, checkpoint, r->stream_));
  }
  return finish(std::move(r), options, tuning);
}

Expected<std::unique_ptr<CudaModelRunner>> CudaModelRunner::create_random(
    const ModelConfig& config, const RunnerOptions& options, uint64_t seed, const Tuning& tuning) {
  if (kc::cuda_device_count() == 0) return no_device_error();
  std::unique_ptr<CudaModelRunner> r(new CudaModelRunner());
  r->stream_ = kc::compute_stream();
  r->config_ = config;
  KVTIER_ASSIGN_OR_RETURN(r->weights_, random_cuda_weights(config, seed, r->stream_));
  return finish(std::move(r), options, tuning);
}

Expected<std::unique_ptr<CudaModelRunner>> CudaModelRunner::finish(
    std::unique_ptr<CudaModelRunner> r, const RunnerOptions& options, const Tuning& tuning) {
  const ModelConfig& c = r->config_;
  if (options.block_size <= 0)
    return invalid_argument("block_size must be positive, got {}", options.block_size);
  if (options.max_num_seqs <= 0 || options.max_num_batched_tokens <= 0)
    return invalid_argument("max_num_seqs ({}) and max_num_batched_tokens ({}) must be positive",
                            options.max_num_seqs, options.max_num_batched_tokens);
  if (c.head_dim != 16 && c.head_dim != 32 && c.head_dim != 64 && c.head_dim != 128)
    return make_error(ErrorCode::kUnimplemented,
                      "device 'cuda': head_dim {} is not supported (16, 32, 64 or 128)",
                      c.head_dim);
  if (c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0)
    return invalid_argument("num_attention_heads {} is not a multiple of num_key_value_heads {}",
                            c.num_attention_heads, c.num_key_value_heads);
  if (c.hidden_size % 8 != 0 || c.intermediate_size % 8 != 0)
    return make_error(
        ErrorCode::kUnimplemented,
        "device 'cuda': hidden_size {} and intermediate_size {} must be multiples of 8",
        c.hidden_size, c.intermediate_size);
  r->tuning_ = tuning;
  int device = 0;
  KVTIER_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  KVTIER_CUDA_RETURN_IF_ERROR(
      cudaDeviceGetAttribute(&r->num_sms_, cudaDevAttrMultiProcessorCount, device));
  int cc_major = 0;
  KVTIER_CUDA_RETURN_IF_ERROR(
      cudaDeviceGetAttribute(&cc_major, cudaDevAttrComputeCapabilityMajor, device));
  r->dependent_launch_supported_ = cc_major >= 9;

  kc::Gemm::Options gemm_options;
  gemm_options.small_batch = tuning.small_batch;
  gemm_options.dependent_launch = tuning.dependent_launch && r->dependent_launch_supported_;
  KVTIER_ASSIGN_OR_RETURN(r->gemm_, kc::Gemm::create(gemm_options));

  // Activations and step metadata for the largest step.
  StepCapacity& cap = r->cap_;
  cap.max_seqs = options.max_num_seqs;
  cap.max_tokens = std::max(options.max_num_batched_tokens, options.max_num_seqs);
  const int32_t blocks_per_seq =
      (c.max_position_embeddings + options.block_size - 1) / options.block_size;
  cap.max_block_ids = int32_t(std::min<int64_t>(int64_t(cap.max_seqs) * blocks_per_seq, INT32_MAX));
  r->sections_ = StepSections::layout(cap);
  KVTIER_ASSIGN_OR_RETURN(
      r->meta_host_, kc::PinnedBuffer::allocate(r->sections_.total * 4, "step metadata (host)"));
  KVTIER_RETURN_IF_ERROR(alloc<int32_t>(r->meta_dev_, r->sections_.total, "step metadata"));

  const size_t t = size_t(cap.max_tokens), s = size_t(cap.max_seqs);
  const size_t h = c.hidden_size, d = c.head_dim, inter = c.intermediate_size;
  const size_t q_dim = size_t(c.num_attention_heads) * d,
               kv_dim = size_t(c.num_key_value_heads) * d;
  Activations& a = r->a_;
  KVTIER_RETURN_IF_ERROR(alloc<float>(a.residual, t * h, "residual stream"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.normed, t * h, "normed activations"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.qkv, t * (q_dim + 2 * kv_dim), "qkv activations"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.q, t * q_dim, "rotated queries"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.attn, t * q_dim, "attention output"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.proj, t * h, "projection output"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.gate_up, t * 2 * inter, "gate/up activations"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.act, t * inter, "MLP activations"));
  KVTIER_RETURN_IF_ERROR(alloc<bf16>(a.final_rows, s * h, "final hidden rows"));
  KVTIER_RETURN_IF_ERROR(alloc<float>(a.logits, s * size_t(c.vocab_size), "logits"));
  KVTIER_RETURN_IF_ERROR(alloc<int32_t>(a.greedy_ids, s, "greedy ids"));
  // Split prefill and split decode attention share one workspace: they run one after the other
  // on the stream, and the decode kernel waits for the prefill reduce before writing.
  KVTIER_RETURN_IF_ERROR(alloc<uint8_t>(
      a.decode_ws,
      std::max(kc::decode_workspace_bytes(cap.max_seqs, c.num_attention_heads, c.head_dim, 32),
               kc::prefill_max_workspace_bytes(r->num_sms_, c.head_dim)),
      "attention workspace"));
  r->cascade_supported_ = kc::cascade_attention_supported(c.num_attention_heads,
                                                          c.num_key_value_heads, c.head_dim);
  if (r->cascade_supported_) {
    r->cascade_sections_ = CascadeSections::layout(cap.max_seqs);
    KVTIER_ASSIGN_OR_RETURN(r->cascade_host_,
                            kc::PinnedBuffer::allocate(r->cascade_sections_.total * 4,
                                                       "cascade metadata (host)"));
    KVTIER_RETURN_IF_ERROR(
        alloc<int32_t>(r->cascade_dev_, r->cascade_sections_.total, "cascade metadata"));
    KVTIER_RETURN_IF_ERROR(alloc<uint8_t>(
        r->cascade_ws_,
        kc::cascade_prefix_workspace_bytes(cascade_max_parts(cap.max_seqs), c.num_attention_heads,
                                           c.head_dim),
        "cascade attention workspace"));
  }
  std::vector<float> inv_freq(d / 2);
  kc::rope_inv_freq(c.rope_theta, c.head_dim, inv_freq.data());
  KVTIER_RETURN_IF_ERROR(alloc<float>(a.inv_freq, inv_freq.size(), "rope frequencies"));
  KVTIER_CUDA_RETURN_IF_ERROR(cudaMemcpy(a.inv_freq.get(), inv_freq.data(),
                                         inv_freq.size() * sizeof(float), cudaMemcpyHostToDevice));

  // The KV pool: what is left of gpu_memory_utilization, or exactly num_gpu_blocks.
  r->layout_ = kv::KvLayout{c.num_hidden_layers, c.num_key_value_heads, c.head_dim,
                            options.block_size, int32_t(sizeof(bf16))};
  const size_t block_bytes = r->layout_.block_bytes();
  if (options.num_gpu_blocks > 0) {
    r->num_blocks_ = options.num_gpu_blocks;
  } else {
    if (!(options.gpu_memory_utilization > 0 && options.gpu_memory_utilization <= 1))
      return invalid_argument("gpu_memory_utilization must be in (0, 1], got {}",
                              options.gpu_memory_utilization);
    size_t free_bytes = 0, total_bytes = 0;
    KVTIER_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
    const double allowed = options.gpu_memory_utilization * double(total_bytes);
    const double used = double(total_bytes - free_bytes);
    const double room = allowed - used - double(kReserveBytes);
    const int64_t blocks = room > 0 ? int64_t(room / double(block_bytes)) : 0;
    if (blocks <= 0)
      return make_error(ErrorCode::kResourceExhausted,
                        "device 'cuda': gpu_memory_utilization {} of {:.1f} GiB leaves no room for "
                        "a KV block of {} bytes ({:.1f} GiB already in use: weights {:.1f} GiB)",
                        options.gpu_memory_utilization, total_bytes / 1073741824.0, block_bytes,
                        used / 1073741824.0, r->weights_.bytes() / 1073741824.0);
    r->num_blocks_ = int32_t(std::min<int64_t>(blocks, INT32_MAX));
  }
  KVTIER_ASSIGN_OR_RETURN(
      r->kv_, DeviceBuffer::allocate(size_t(r->num_blocks_) * block_bytes, "the KV pool"));
  KVTIER_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(r->kv_.get(), 0, r->kv_.bytes(), r->stream_));
  KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(r->stream_));
  return r;
}

CudaModelRunner::~CudaModelRunner() {
  if (stream_) cudaStreamSynchronize(stream_);
  for (auto& [batch, exec] : graphs_) cudaGraphExecDestroy(exec);
}

void CudaModelRunner::set_tuning(const Tuning& tuning) {
  cudaStreamSynchronize(stream_);
  for (auto& [batch, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
  tuning_ = tuning;
  gemm_->set_small_batch(tuning.small_batch);
  gemm_->set_dependent_launch(dependent_launch());
}

kv::KvPool CudaModelRunner::kv_pool() {
  return kv::KvPool{kv::Device::kCuda, kv_.get<std::byte>(), num_blocks_, layout_};
}

int32_t CudaModelRunner::max_graph_batch() const {
  if (!tuning_.cuda_graphs) return 0;
  return std::min({kMaxGraphBatch, cap_.max_seqs, cap_.max_tokens});
}

// 1, 2, 4, 8, then multiples of 8 to 64, of 16 to 128, of 32 to 256, of 64 beyond.
int32_t CudaModelRunner::graph_bucket(int32_t n) const {
  if (n <= 0 || n > max_graph_batch()) return 0;
  int32_t b;
  if (n <= 4)
    b = n <= 1 ? 1 : n <= 2 ? 2 : 4;
  else {
    const int32_t step = n <= 64 ? 8 : n <= 128 ? 16 : n <= 256 ? 32 : 64;
    b = (n + step - 1) / step * step;
  }
  return std::min(b, max_graph_batch());
}

Status CudaModelRunner::enqueue_layer(int32_t l, const StepPlan& plan) {
  const ModelConfig& c = config_;
  const CudaLayerWeights& w = weights_.layers[l];
  const int32_t t = plan.num_tokens, h = c.hidden_size, d = c.head_dim;
  const int32_t q_dim = c.num_attention_heads * d, kv_dim = c.num_key_value_heads * d;
  const float eps = float(c.rms_norm_eps);
  const bool dep = dependent_launch();
  Activations& a = a_;
  const int32_t* meta = meta_dev_.get<int32_t>();
  // The previous layer's MLP output joins the residual stream here (layer 0 starts from the
  // embedding alone).
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::add_rmsnorm(stream_, a.residual.get<float>(),
                                                l == 0 ? nullptr : a.proj.get<bf16>(), w.input_norm,
                                                a.normed.get<bf16>(), t, h, eps, dep));
  KVTIER_RETURN_IF_ERROR(gemm_->run(stream_, a.normed.get<bf16>(), w.qkv, a.qkv.get(),
                                    kc::OutType::kBF16, t, q_dim + 2 * kv_dim, h));
  kc::RopeKvArgs rope;
  rope.qkv = a.qkv.get<bf16>();
  rope.positions = meta + sections_.positions;
  rope.slot_mapping = meta + sections_.slots;
  rope.q_norm_weight = w.q_norm;
  rope.k_norm_weight = w.k_norm;
  rope.inv_freq = a.inv_freq.get<float>();
  rope.q_out = a.q.get<bf16>();
  rope.kv = kc::paged_kv_for_layer(kv_.get(), layout_, l);
  rope.num_tokens = t;
  rope.num_heads = c.num_attention_heads;
  rope.eps = eps;
  rope.dependent_launch = dep;
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::qk_norm_rope_kv_write(stream_, rope));

  kc::AttentionArgs attn;
  attn.q = a.q.get<bf16>();
  attn.out = a.attn.get<bf16>();
  attn.kv = rope.kv;
  attn.num_heads = c.num_attention_heads;
  attn.scale = float(1.0 / std::sqrt(double(d)));
  attn.dependent_launch = dep;
  if (plan.num_tiles > 0) {
    kc::PrefillAttentionMeta m;
    m.q_offset = meta + sections_.pre_qoff;
    m.q_len = meta + sections_.pre_qlen;
    m.context_len = meta + sections_.pre_ctx;
    m.block_table_offset = meta + sections_.pre_bto;
    m.block_ids = meta + sections_.block_ids;
    m.tiles = reinterpret_cast<const int2*>(meta + sections_.tiles);
    m.num_tiles = plan.num_tiles;
    m.num_splits = kc::prefill_num_splits(plan.num_tiles, c.num_attention_heads,
                                          plan.max_prefill_context, num_sms_);
    KVTIER_KERNEL_RETURN_IF_ERROR(kc::prefill_attention(stream_, attn, m, tuning_.prefill_kernel,
                                                        a.decode_ws.get(), a.decode_ws.bytes()));
  }
  if (plan.num_decode > 0) {
    kc::DecodeAttentionMeta m;
    m.token_row = meta + sections_.dec_row;
    m.context_len = meta + sections_.dec_ctx;
    m.block_table_offset = meta + sections_.dec_bto;
    m.block_ids = meta + sections_.block_ids;
    m.num_seqs = plan.num_decode;
    m.num_splits = kc::decode_num_splits(plan.num_decode, c.num_key_value_heads, num_sms_);
    if (plan.num_cascade_groups > 0) {
      const int32_t* cm_base = cascade_dev_.get<int32_t>();
      const CascadeSections& cs = cascade_sections_;
      kc::CascadeAttentionMeta cm;
      cm.header = cm_base + cs.header;
      cm.member_begin = cm_base + cs.member_begin;
      cm.work_begin = cm_base + cs.work_begin;
      cm.shared_len = cm_base + cs.shared_len;
      cm.chunk_len = cm_base + cs.chunk_len;
      cm.part_begin = cm_base + cs.part_begin;
      cm.members = cm_base + cs.members;
      cm.seq_group = cm_base + cs.seq_group;
      cm.seq_local = cm_base + cs.seq_local;
      cm.seq_start = cm_base + cs.seq_start;
      cm.work_slots = cascade_work_slots(num_sms_, c.num_key_value_heads);
      cm.max_parts = cascade_max_parts(cap_.max_seqs);
      KVTIER_KERNEL_RETURN_IF_ERROR(kc::cascade_decode_attention(
          stream_, attn, m, cm, a.decode_ws.get(), a.decode_ws.bytes(), cascade_ws_.get(),
          cascade_ws_.bytes()));
    } else {
      KVTIER_KERNEL_RETURN_IF_ERROR(
          kc::decode_attention(stream_, attn, m, a.decode_ws.get(), a.decode_ws.bytes()));
    }
  }
  KVTIER_RETURN_IF_ERROR(gemm_->run(stream_, a.attn.get<bf16>(), w.o_proj, a.proj.get(),
                                    kc::OutType::kBF16, t, h, q_dim));
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::add_rmsnorm(stream_, a.residual.get<float>(),
                                                a.proj.get<bf16>(), w.post_norm,
                                                a.normed.get<bf16>(), t, h, eps, dep));
  if (tuning_.fuse_gate_up_silu && gemm_->fused_gate_up_silu(t, h)) {
    KVTIER_RETURN_IF_ERROR(gemm_->run_gate_up_silu(stream_, a.normed.get<bf16>(), w.gate_up,
                                                   a.act.get<bf16>(), t, c.intermediate_size, h));
  } else {
    KVTIER_RETURN_IF_ERROR(gemm_->run(stream_, a.normed.get<bf16>(), w.gate_up, a.gate_up.get(),
                                      kc::OutType::kBF16, t, 2 * c.intermediate_size, h));
    KVTIER_KERNEL_RETURN_IF_ERROR(kc::silu_mul(stream_, a.gate_up.get<bf16>(), a.act.get<bf16>(),
                                               t, c.intermediate_size, dep));
  }
  return gemm_->run(stream_, a.act.get<bf16>(), w.down, a.proj.get(), kc::OutType::kBF16, t, h,
                    c.intermediate_size);
}

// Everything one step runs on the device, from token ids to fp32 logits: what a graph captures.
Status CudaModelRunner::enqueue_step(const StepPlan& plan) {
  const ModelConfig& c = config_;
  const int32_t* meta = meta_dev_.get<int32_t>();
  Activations& a = a_;
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::embedding_lookup(stream_, meta + sections_.ids, weights_.embed,
                                                     a.residual.get<float>(), plan.num_tokens,
                                                     c.hidden_size, c.vocab_size));
  for (int32_t l = 0; l < c.num_hidden_layers; ++l) KVTIER_RETURN_IF_ERROR(enqueue_layer(l, plan));
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::add_rmsnorm(
      stream_, a.residual.get<float>(), a.proj.get<bf16>(), weights_.final_norm,
      a.normed.get<bf16>(), plan.num_tokens, c.hidden_size, float(c.rms_norm_eps),
      dependent_launch()));
  if (plan.num_logit_rows == 0) return Status::ok();
  KVTIER_KERNEL_RETURN_IF_ERROR(
      kc::gather_rows(stream_, a.normed.get<bf16>(), meta + sections_.logit_rows,
                      a.final_rows.get<bf16>(), plan.num_logit_rows, c.hidden_size));
  return gemm_->run(stream_, a.final_rows.get<bf16>(), weights_.lm_head, a.logits.get(),
                    kc::OutType::kF32, plan.num_logit_rows, c.vocab_size, c.hidden_size);
}

Status CudaModelRunner::plan_cascade(const ForwardBatch& piece, StepPlan& plan) {
  plan.num_cascade_groups = 0;
  last_cascade_groups_ = 0;
  if (!tuning_.cascade_attention || !cascade_supported_ || plan.num_decode < 2) return Status::ok();
  CascadeGeometry geometry;
  geometry.num_kv_heads = config_.num_key_value_heads;
  geometry.q_per_kv = config_.num_attention_heads / config_.num_key_value_heads;
  geometry.work_slots = cascade_work_slots(num_sms_, config_.num_key_value_heads);
  CascadeOptions options;
  options.min_shared_tokens = tuning_.cascade_min_shared_tokens;
  options.min_saved_tokens = tuning_.cascade_min_saved_tokens;
  CascadePlan cascade;
  auto* packed = cascade_host_.get<int32_t>();
  KVTIER_RETURN_IF_ERROR(build_cascade_plan(piece, layout_.block_size, plan.num_decode,
                                            cap_.max_seqs, options, geometry, packed, cascade));
  if (cascade.num_groups == 0) return Status::ok();
  // Like the step metadata: the previous step has finished, the SMs pull the copy.
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::copy_words(stream_, reinterpret_cast<const uint32_t*>(packed),
                                               cascade_dev_.get<uint32_t>(),
                                               int64_t(cascade_sections_.total)));
  plan.num_cascade_groups = last_cascade_groups_ = cascade.num_groups;
  return Status::ok();
}

Status CudaModelRunner::run_piece(const ForwardBatch& piece, bool use_graph, StepPlan& plan) {
  const int32_t bucket = use_graph ? graph_bucket(int32_t(piece.seqs.size())) : 0;
  auto* packed = meta_host_.get<int32_t>();
  KVTIER_RETURN_IF_ERROR(build_step_plan(piece, cap_, layout_.block_size, bucket, packed, plan));
  // The previous step finished (every run ends with a synchronisation), so the pinned buffer is
  // free to rewrite and the copy below sees the new contents. The SMs pull it: a copy engine
  // could hold it behind a KV-tier load of many megabytes.
  KVTIER_KERNEL_RETURN_IF_ERROR(kc::copy_words(stream_, reinterpret_cast<const uint32_t*>(packed),
                                               meta_dev_.get<uint32_t>(),
                                               plan.used_elems(sections_)));
  KVTIER_RETURN_IF_ERROR(plan_cascade(piece, plan));
  if (bucket == 0) return enqueue_step(plan);
  // Steps with and without cascade groups launch different kernels: one graph each. The
  // groups themselves are data in cascade_dev_.
  const int32_t graph_key = 2 * bucket + (plan.num_cascade_groups > 0 ? 1 : 0);
  if (auto it = graphs_.find(graph_key); it != graphs_.end())
    return kc::cuda_status(cudaGraphLaunch(it->second, stream_), "cudaGraphLaunch");
  // First step of this size: run it eagerly (which also settles the GEMM plans), then capture
  // the same launches for the next steps of this size.
  KVTIER_RETURN_IF_ERROR(enqueue_step(plan));
  KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  const Status captured = enqueue_step(plan);
  cudaGraph_t graph = nullptr;
  const cudaError_t end_err = cudaStreamEndCapture(stream_, &graph);
  KVTIER_RETURN_IF_ERROR(captured);
  KVTIER_RETURN_IF_ERROR(kc::cuda_status(end_err, "cudaStreamEndCapture"));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst_err = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  KVTIER_RETURN_IF_ERROR(kc::cuda_status(inst_err, "cudaGraphInstantiate"));
  graphs_.emplace(graph_key, exec);
  return Status::ok();
}

Status CudaModelRunner::run(const ForwardBatch& batch, Output out, std::vector<float>* logits,
                            std::vector<int32_t>* ids) {
  KVTIER_RETURN_IF_ERROR(check_forward_batch(batch, config_, layout_.block_size, num_blocks_));
  const int32_t vocab = config_.vocab_size;
  const size_t total_rows = size_t(batch.num_logit_rows());
  if (logits) logits->resize(total_rows * vocab);
  if (ids) ids->resize(total_rows);
  size_t row = 0;
  for (const ForwardBatch& piece : split_forward_batch(batch, cap_.max_tokens, cap_.max_seqs)) {
    StepPlan plan;
    KVTIER_RETURN_IF_ERROR(run_piece(piece, is_decode_only(piece) && tuning_.cuda_graphs, plan));
    const size_t rows = size_t(plan.num_real_logit_rows);
    if (out == Output::kLogits && rows > 0) {
      KVTIER_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(logits->data() + row * vocab, a_.logits.get(),
                                                  rows * vocab * sizeof(float),
                                                  cudaMemcpyDeviceToHost, stream_));
    } else if (out == Output::kGreedy && rows > 0) {
      KVTIER_KERNEL_RETURN_IF_ERROR(kc::argmax_rows(stream_, a_.logits.get<float>(), int32_t(rows),
                                                    vocab, a_.greedy_ids.get<int32_t>()));
      KVTIER_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(ids->data() + row, a_.greedy_ids.get(),
                                                  rows * sizeof(int32_t), cudaMemcpyDeviceToHost,
                                                  stream_));
    } else if (out == Output::kSample && rows > 0) {
      KVTIER_RETURN_IF_ERROR(sample_piece(row, rows));
    }
    KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    row += rows;
  }
  return Status::ok();
}

Status CudaModelRunner::forward(const ForwardBatch& batch, std::vector<float>& logits) {
  return run(batch, Output::kLogits, &logits, nullptr);
}

Status CudaModelRunner::forward_greedy(const ForwardBatch& batch, std::vector<int32_t>& ids) {
  return run(batch, Output::kGreedy, nullptr, &ids);
}

Status CudaModelRunner::forward_on_device(const ForwardBatch& batch) {
  return run(batch, Output::kNone, nullptr, nullptr);
}

}  // namespace cuda
}  // namespace kvtier::model
