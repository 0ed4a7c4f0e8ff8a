#include "model/cuda/cuda_weights.h"

#include <cmath>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/elementwise.h"
#include "model/qwen3_tensors.h"

namespace kvtier::model::cuda {
namespace kc = kernels::cuda;
namespace {

// One destination matrix and the checkpoint tensors stacked into it, in order.
struct Piece {
  std::vector<std::string> sources;
  int64_t rows = 0, cols = 0;   // of the stacked matrix (a vector has rows 1)
  size_t offset = 0;            // bytes into the storage
  const bf16** slot = nullptr;  // where the device pointer goes
};

struct Plan {
  std::vector<Piece> pieces;
  size_t bytes = 0;
};

Plan plan_layout(const ModelConfig& c, CudaWeights& w) {
  Plan plan;
  const int64_t h = c.hidden_size, d = c.head_dim, inter = c.intermediate_size;
  const int64_t q_dim = int64_t(c.num_attention_heads) * d;
  const int64_t kv_dim = int64_t(c.num_key_value_heads) * d;
  auto add = [&](std::vector<std::string> sources, int64_t rows, int64_t cols, const bf16** slot) {
    Piece p{std::move(sources), rows, cols, plan.bytes, slot};
    plan.bytes += (size_t(rows * cols) * sizeof(bf16) + 255) / 256 * 256;
    plan.pieces.push_back(std::move(p));
  };
  w.layers.assign(c.num_hidden_layers, {});
  add({"model.embed_tokens.weight"}, c.vocab_size, h, &w.embed);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    auto n = [l](const char* s) { return qwen3_layer_tensor(l, s); };
    CudaLayerWeights& lw = w.layers[l];
    add({n("input_layernorm.weight")}, 1, h, &lw.input_norm);
    add({n("self_attn.q_proj.weight"), n("self_attn.k_proj.weight"), n("self_attn.v_proj.weight")},
        q_dim + 2 * kv_dim, h, &lw.qkv);
    add({n("self_attn.q_norm.weight")}, 1, d, &lw.q_norm);
    add({n("self_attn.k_norm.weight")}, 1, d, &lw.k_norm);
    add({n("self_attn.o_proj.weight")}, h, q_dim, &lw.o_proj);
    add({n("post_attention_layernorm.weight")}, 1, h, &lw.post_norm);
    add({n("mlp.gate_proj.weight"), n("mlp.up_proj.weight")}, 2 * inter, h, &lw.gate_up);
    add({n("mlp.down_proj.weight")}, h, inter, &lw.down);
  }
  add({"model.norm.weight"}, 1, h, &w.final_norm);
  if (!c.tie_word_embeddings) add({"lm_head.weight"}, c.vocab_size, h, &w.lm_head);
  return plan;
}

Expected<Plan> allocate(const ModelConfig& c, CudaWeights& w) {
  Plan plan = plan_layout(c, w);
  KVTIER_ASSIGN_OR_RETURN(w.storage, kc::DeviceBuffer::allocate(plan.bytes, "model weights"));
  auto* base = w.storage.get<std::byte>();
  for (Piece& p : plan.pieces) *p.slot = reinterpret_cast<const bf16*>(base + p.offset);
  if (c.tie_word_embeddings) w.lm_head = w.embed;
  return plan;
}

kc::SourceType source_type(DType t) {
  switch (t) {
    case DType::kF32:
      return kc::SourceType::kF32;
    case DType::kF16:
      return kc::SourceType::kF16;
    case DType::kBF16:
      break;
  }
  return kc::SourceType::kBF16;
}

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

}  // namespace

Expected<CudaWeights> load_cuda_weights(const ModelConfig& config, const Checkpoint& checkpoint,
                                        cudaStream_t stream) {
  KVTIER_RETURN_IF_ERROR(validate_qwen3_tensors(config, checkpoint));
  CudaWeights w;
  KVTIER_ASSIGN_OR_RETURN(Plan plan, allocate(config, w));
  // Tensors not stored in bf16 go through a device staging buffer and a conversion kernel.
  size_t staging_bytes = 0;
  for (const Piece& p : plan.pieces)
    for (const auto& name : p.sources)
      if (const TensorView* t = checkpoint.find(name); t && t->dtype() != DType::kBF16)
        staging_bytes = std::max(staging_bytes, t->nbytes());
  KVTIER_ASSIGN_OR_RETURN(auto staging,
                          kc::DeviceBuffer::allocate(staging_bytes, "weight conversion staging"));
  auto* base = w.storage.get<std::byte>();
  for (const Piece& p : plan.pieces) {
    auto* dst = reinterpret_cast<bf16*>(base + p.offset);
    for (const auto& name : p.sources) {
      const TensorView* t = checkpoint.find(name);
      if (!t) return not_found("tensor {} is missing from the checkpoint", name);
      if (t->dtype() == DType::kBF16) {
        KVTIER_CUDA_RETURN_IF_ERROR(
            cudaMemcpyAsync(dst, t->data, t->nbytes(), cudaMemcpyHostToDevice, stream));
      } else {
        KVTIER_CUDA_RETURN_IF_ERROR(
            cudaMemcpyAsync(staging.get(), t->data, t->nbytes(), cudaMemcpyHostToDevice, stream));
        KVTIER_KERNEL_RETURN_IF_ERROR(
            kc::convert_to_bf16(stream, staging.get(), source_type(t->dtype()), dst, t->numel()));
        // The staging buffer is reused by the next tensor.
        KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
      }
      dst += t->numel();
    }
  }
  KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  return w;
}

Expected<CudaWeights> random_cuda_weights(const ModelConfig& config, uint64_t seed,
                                          cudaStream_t stream) {
  CudaWeights w;
  KVTIER_ASSIGN_OR_RETURN(Plan plan, allocate(config, w));
  auto* base = w.storage.get<std::byte>();
  uint64_t tensor_seed = seed;
  for (const Piece& p : plan.pieces) {
    auto* dst = reinterpret_cast<bf16*>(base + p.offset);
    const int64_t n = p.rows * p.cols;
    if (is_norm(p.sources.front())) {
      KVTIER_KERNEL_RETURN_IF_ERROR(kc::fill_constant(stream, dst, n, 1.f));
    } else {
      // Uniform on [-a, a] has variance a^2 / 3: a = sqrt(3 / fan_in) keeps unit variance.
      const float scale = float(std::sqrt(3.0 / double(p.cols)));
      KVTIER_KERNEL_RETURN_IF_ERROR(kc::fill_uniform(stream, dst, n, ++tensor_seed, scale));
    }
  }
  KVTIER_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  return w;
}

}  // namespace kvtier::model::cuda
