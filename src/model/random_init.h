#pragma once
// Seeded random weights for make-model. Each element is a pure function of (seed, tensor name,
// index), so writers can fill any slice of any tensor on any thread and get the same bytes.
//
// The scales are chosen so that a random Qwen3 behaves like a trained one in the ways serving
// cares about: the next-token distribution is peaked (a clear top-1, so greedy decoding is
// stable across backends and batch shapes) and depends on the context through attention.
//  - Projections into a layer keep unit variance (std 1/sqrt(fan_in)); the layers' outputs
//    (o_proj, down_proj) are larger than the embedding so context, not the current token's own
//    embedding, dominates the residual stream (a tied model otherwise repeats its input).
//  - q_norm/k_norm weights near 2 sharpen attention; the final norm sets logits' spread to about
//    kLogitStd, which over a 151,936-token vocabulary gives a dominant top-1.
#include <cstdint>
#include <string_view>

#include "model/config.h"

namespace kvtier::model {

struct InitSpec {
  float mean = 0.0f;
  float std = 0.0f;
};

InitSpec init_spec(std::string_view tensor_name, const ModelConfig& config);

// dst[i] = mean + std * z(seed, name, first + i) for i < count, z of unit variance.
void fill_random(uint64_t seed, std::string_view tensor_name, const InitSpec& spec, int64_t first,
                 int64_t count, float* dst);

}  // namespace kvtier::model
