#include "model/cpu_weights.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>

#include "model/dtype_convert.h"
#include "model/qwen3_tensors.h"
#include "model/random_init.h"

namespace kvtier::model {
namespace {

// Converts `t` into dst[0 .. t.numel()), in parallel slices. NaN or Inf in a weight would
// only show later as garbage logits, so each slice is scanned while it is still in cache (a
// few percent of the load time); the error names the tensor and its first bad element.
Status convert(kernels::ThreadPool& pool, const TensorView& t, float* dst) {
  const int64_t n = t.numel();
  const int64_t elem = dtype_size(t.dtype());
  constexpr int64_t kSlice = 1 << 16;
  // The lowest non-finite index found; written by every pool thread.
  std::atomic<int64_t> first_bad{n};
  pool.parallel_for((n + kSlice - 1) / kSlice, [&](int64_t begin, int64_t end, int) {
    for (int64_t s = begin; s < end; ++s) {
      const int64_t first = s * kSlice, count = std::min(kSlice, n - first);
      convert_to_float(t.dtype(), t.data + first * elem, count, dst + first);
      bool finite = true;
      for (int64_t i = 0; i < count; ++i) finite &= std::isfinite(dst[first + i]);
      if (finite) continue;
      int64_t i = 0;
      while (std::isfinite(dst[first + i])) ++i;
      int64_t seen = first_bad.load();
      while (first + i < seen && !first_bad.compare_exchange_weak(seen, first + i)) {
      }
    }
  });
  const int64_t bad = first_bad.load();
  if (bad == n) return Status::ok();
  return data_loss("{}: tensor '{}' holds {} at element {} (flat index): the weights are "
                   "corrupt",
                   t.file->path().string(), t.name(), dst[bad], bad);
}

// Fills dst[0 .. numel) with the named tensor's values as fp32.
using TensorSource = std::function<void(const std::string& name, int64_t numel, float* dst)>;

// The named tensors one after the other in one array.
std::vector<float> stacked(const TensorSource& source, const std::map<std::string, int64_t>& numel,
                           const std::vector<std::string>& names) {
  int64_t total = 0;
  for (const auto& name : names) total += numel.at(name);
  std::vector<float> out(static_cast<size_t>(total));
  int64_t offset = 0;
  for (const auto& name : names) {
    source(name, numel.at(name), out.data() + offset);
    offset += numel.at(name);
  }
  return out;
}

// fp32 copies of a big model can exceed the machine: refuse instead of being killed.
Status check_fits_in_memory(const std::map<std::string, int64_t>& numel) {
  uint64_t fp32_bytes = 0;
  for (const auto& [name, n] : numel) fp32_bytes += uint64_t(n) * 4;
  const uint64_t physical =
      uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGE_SIZE));
  if (physical > 0 && fp32_bytes > physical)
    return make_error(ErrorCode::kResourceExhausted,
                      "the CPU backend holds weights in fp32: {:.1f} GiB for this model, more "
                      "than this machine's {:.1f} GiB of memory",
                      double(fp32_bytes) / (1 << 30), double(physical) / (1 << 30));
  return Status::ok();
}

// The CPU backend's arrays, stacked as its GEMMs want them, from any source of the tensors that
// qwen3_tensor_specs() lists.
Expected<CpuWeights> assemble(const ModelConfig& config, const TensorSource& source) {
  std::map<std::string, int64_t> numel;
  for (const TensorSpec& spec : qwen3_tensor_specs(config)) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    numel[spec.name] = n;
  }
  KVTIER_RETURN_IF_ERROR(check_fits_in_memory(numel));
  auto one = [&](const std::string& name) { return stacked(source, numel, {name}); };
  CpuWeights w;
  w.embed = one("model.embed_tokens.weight");
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    auto name = [l](const char* suffix) { return qwen3_layer_tensor(l, suffix); };
    CpuLayerWeights lw;
    lw.input_norm = one(name("input_layernorm.weight"));
    lw.qkv = stacked(source, numel,
                     {name("self_attn.q_proj.weight"), name("self_attn.k_proj.weight"),
                      name("self_attn.v_proj.weight")});
    lw.q_norm = one(name("self_attn.q_norm.weight"));
    lw.k_norm = one(name("self_attn.k_norm.weight"));
    lw.o_proj = one(name("self_attn.o_proj.weight"));
    lw.post_norm = one(name("post_attention_layernorm.weight"));
    lw.gate_up = stacked(source, numel, {name("mlp.gate_proj.weight"), name("mlp.up_proj.weight")});
    lw.down = one(name("mlp.down_proj.weight"));
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = one("model.norm.weight");
  if (!config.tie_word_embeddings) w.lm_head = one("lm_head.weight");
  return w;
}

}  // namespace

Expected<CpuWeights> load_cpu_weights(const ModelConfig& config, const Checkpoint& ckpt,
                                      kernels::ThreadPool& pool) {
  KVTIER_RETURN_IF_ERROR(validate_qwen3_tensors(config, ckpt));
  Status scan = Status::ok();  // the first tensor found holding NaN or Inf
  auto weights = assemble(config, [&](const std::string& name, int64_t, float* dst) {
    if (scan.is_ok()) scan = convert(pool, *ckpt.find(name), dst);
  });
  if (!scan.is_ok()) return scan;
  return weights;
}

Expected<CpuWeights> random_cpu_weights(const ModelConfig& config, uint64_t seed,
                                        kernels::ThreadPool& pool) {
  const int elem = dtype_size(config.torch_dtype);
  return assemble(config, [&](const std::string& name, int64_t n, float* dst) {
    const InitSpec spec = init_spec(name, config);
    constexpr int64_t kSlice = 1 << 16;
    pool.parallel_for((n + kSlice - 1) / kSlice, [&](int64_t begin, int64_t end, int) {
      std::vector<std::byte> stored(size_t(kSlice * elem));
      for (int64_t s = begin; s < end; ++s) {
        const int64_t first = s * kSlice, count = std::min(kSlice, n - first);
        fill_random(seed, name, spec, first, count, dst + first);
        // Rounded through the checkpoint dtype, as make-model stores the same values.
        convert_from_float(config.torch_dtype, dst + first, count, stored.data());
        convert_to_float(config.torch_dtype, stored.data(), count, dst + first);
      }
    });
  });
}

}  // namespace kvtier::model
