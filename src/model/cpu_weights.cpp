#include "model/cpu_weights.h"

#include <unistd.h>

#include <algorithm>

#include "model/dtype_convert.h"
#include "model/qwen3_tensors.h"

namespace kvtier::model {
namespace {

// Converts `t` into dst[0 .. t.numel()), in parallel slices.
void convert(kernels::ThreadPool& pool, const TensorView& t, float* dst) {
  const int64_t n = t.numel();
  const int64_t elem = dtype_size(t.dtype());
  constexpr int64_t kSlice = 1 << 16;
  pool.parallel_for((n + kSlice - 1) / kSlice, [&](int64_t begin, int64_t end, int) {
    for (int64_t s = begin; s < end; ++s) {
      const int64_t first = s * kSlice, count = std::min(kSlice, n - first);
      convert_to_float(t.dtype(), t.data + first * elem, count, dst + first);
    }
  });
}

// Converts the named tensors one after the other into one array.
std::vector<float> stacked(kernels::ThreadPool& pool, const Checkpoint& ckpt,
                           const std::vector<std::string>& names) {
  int64_t total = 0;
  for (const auto& name : names) total += ckpt.find(name)->numel();
  std::vector<float> out(static_cast<size_t>(total));
  int64_t offset = 0;
  for (const auto& name : names) {
    const TensorView* t = ckpt.find(name);
    convert(pool, *t, out.data() + offset);
    offset += t->numel();
  }
  return out;
}

}  // namespace

Expected<CpuWeights> load_cpu_weights(const ModelConfig& config, const Checkpoint& ckpt,
                                      kernels::ThreadPool& pool) {
  KVTIER_RETURN_IF_ERROR(validate_qwen3_tensors(config, ckpt));
  // fp32 copies of a big checkpoint can exceed the machine: refuse instead of being killed.
  uint64_t fp32_bytes = 0;
  for (const auto& [name, t] : ckpt.tensors()) fp32_bytes += uint64_t(t.numel()) * 4;
  const uint64_t physical =
      uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGE_SIZE));
  if (physical > 0 && fp32_bytes > physical)
    return make_error(ErrorCode::kResourceExhausted,
                      "the CPU backend holds weights in fp32: {:.1f} GiB for this checkpoint, more "
                      "than this machine's {:.1f} GiB of memory",
                      double(fp32_bytes) / (1 << 30), double(physical) / (1 << 30));
  auto one = [&](const std::string& name) { return stacked(pool, ckpt, {name}); };
  CpuWeights w;
  w.embed = one("model.embed_tokens.weight");
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    auto name = [l](const char* suffix) { return qwen3_layer_tensor(l, suffix); };
    CpuLayerWeights lw;
    lw.input_norm = one(name("input_layernorm.weight"));
    lw.qkv = stacked(pool, ckpt,
                     {name("self_attn.q_proj.weight"), name("self_attn.k_proj.weight"),
                      name("self_attn.v_proj.weight")});
    lw.q_norm = one(name("self_attn.q_norm.weight"));
    lw.k_norm = one(name("self_attn.k_norm.weight"));
    lw.o_proj = one(name("self_attn.o_proj.weight"));
    lw.post_norm = one(name("post_attention_layernorm.weight"));
    lw.gate_up = stacked(pool, ckpt, {name("mlp.gate_proj.weight"), name("mlp.up_proj.weight")});
    lw.down = one(name("mlp.down_proj.weight"));
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = one("model.norm.weight");
  if (!config.tie_word_embeddings) w.lm_head = one("lm_head.weight");
  return w;
}

}  // namespace kvtier::model
