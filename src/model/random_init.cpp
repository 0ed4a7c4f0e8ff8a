#include "model/random_init.h"

#include <cmath>

namespace kvtier::model {
namespace {

constexpr float kLogitStd = 8.0f;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ uint8_t(c)) * 0x100000001b3ull;
  return h;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

InitSpec init_spec(std::string_view name, const ModelConfig& c) {
  const float h = float(c.hidden_size);
  const float q_out = float(c.num_attention_heads) * float(c.head_dim);
  const float inter = float(c.intermediate_size);
  if (name == "model.embed_tokens.weight" || name == "lm_head.weight") return {0.0f, 1.0f};
  if (name == "model.norm.weight") {
    const float g = kLogitStd / std::sqrt(h);
    return {g, 0.1f * g};
  }
  if (ends_with(name, "q_norm.weight") || ends_with(name, "k_norm.weight")) return {2.0f, 0.2f};
  if (ends_with(name, "layernorm.weight")) return {1.0f, 0.1f};
  if (ends_with(name, "o_proj.weight")) return {0.0f, 2.0f / std::sqrt(q_out)};
  if (ends_with(name, "down_proj.weight")) return {0.0f, 4.0f / std::sqrt(inter)};
  return {0.0f, 1.0f / std::sqrt(h)};  // q, k, v, gate, up: fan_in is the hidden size
}

void fill_random(uint64_t seed, std::string_view name, const InitSpec& spec, int64_t first,
                 int64_t count, float* dst) {
  const uint64_t key = splitmix64(seed ^ fnv1a(name));
  // Irwin-Hall sum of four 16-bit uniforms: close to normal, bounded at +-3.5 std, one hash per
  // element (fast enough to stream the 14B preset).
  constexpr float kScale = 1.7320508f / 65536.0f;  // sqrt(3): the sum of 4 U(0,1) has variance 1/3
  for (int64_t i = 0; i < count; ++i) {
    uint64_t r = splitmix64(key + uint64_t(first + i));
    float sum =
        float((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48)) + 2.0f;
    dst[i] = spec.mean + spec.std * (sum - 131072.0f) * kScale;
  }
}

}  // namespace kvtier::model
