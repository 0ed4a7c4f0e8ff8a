#include "model/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvtier::model {

int32_t argmax(std::span<const float> logits) {
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

TopLogprobs top_logprobs(std::span<const float> logits, int k) {
  TopLogprobs out;
  if (logits.empty() || k <= 0) return out;
  const double max_v = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(double(v) - max_v);
  const double log_z = max_v + std::log(sum);
  k = std::min<int>(k, int(logits.size()));
  std::vector<int32_t> idx(logits.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  for (int i = 0; i < k; ++i) {
    out.ids.push_back(idx[i]);
    out.logprobs.push_back(double(logits[idx[i]]) - log_z);
  }
  return out;
}

int32_t sample_token(std::span<const float> logits, double temperature, std::mt19937_64& rng) {
  if (temperature <= 0.0) return argmax(logits);
  const double max_v = *std::max_element(logits.begin(), logits.end());
  std::vector<double> cdf(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    sum += std::exp((double(logits[i]) - max_v) / temperature);
    cdf[i] = sum;
  }
  // 53 random bits: the same draw on every standard library, unlike std distributions.
  const double u = double(rng() >> 11) * 0x1.0p-53 * sum;
  const auto pick = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
  return int32_t(std::min<int64_t>(pick, int64_t(cdf.size()) - 1));
}

}  // namespace kvtier::model
