#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kvtier::engine {
namespace {

// Temperatures below this are greedy, as in vLLM.
constexpr float kGreedyTemperature = 1e-5f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool in_row(int32_t id, std::span<const float> logits) {
  return id >= 0 && size_t(id) < logits.size();
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

double uniform_from(uint64_t seed, uint64_t counter) {
  const uint64_t bits = splitmix64(seed ^ splitmix64(counter + 0x632BE59BD9B4E019ull));
  return double(bits >> 11) * 0x1.0p-53;
}

void SamplingState::init(const SamplingParams& params, std::span<const int32_t> prompt,
                         uint64_t seed_value, std::span<const int32_t> stop_token_ids) {
  seed = seed_value;
  stop_ids = stop_token_ids;
  num_output = 0;
  output_counts.clear();
  prompt_unique.clear();
  output_ids.clear();
  keeps_output_ids = std::any_of(params.bad_words_token_ids.begin(),
                                 params.bad_words_token_ids.end(),
                                 [](const std::vector<int32_t>& w) { return w.size() > 1; });
  if (params.repetition_penalty != 1.0f) {
    prompt_unique.assign(prompt.begin(), prompt.end());
    std::sort(prompt_unique.begin(), prompt_unique.end());
    prompt_unique.erase(std::unique(prompt_unique.begin(), prompt_unique.end()),
                        prompt_unique.end());
  }
}

void SamplingState::append(const SamplingParams& params, int32_t token) {
  ++num_output;
  if (keeps_output_ids) output_ids.push_back(token);
  if (params.repetition_penalty != 1.0f || params.presence_penalty != 0.0f ||
      params.frequency_penalty != 0.0f) {
    ++output_counts[token];
  }
}

int32_t argmax(std::span<const float> logits) {
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int32_t Sampler::sample(std::span<float> logits, const SamplingParams& params,
                        const SamplingState& state, TokenLogprob* logprob) {
  const bool want_logprobs = logprob != nullptr && params.logprobs.has_value();
  if (want_logprobs) raw_.assign(logits.begin(), logits.end());
  mask_disallowed(logits, params);
  ban_bad_words(logits, params, state);
  if (state.num_output < params.min_tokens) {
    for (int32_t id : state.stop_ids) {
      if (in_row(id, logits)) logits[size_t(id)] = kNegInf;
    }
  }
  apply_penalties(logits, params, state);
  const int32_t token =
      params.temperature < kGreedyTemperature
          ? argmax(logits)
          : draw(logits, params, uniform_from(state.seed, uint64_t(state.num_output)));
  if (want_logprobs) fill_logprobs(raw_, token, *params.logprobs, *logprob);
  return token;
}

void Sampler::fill_logprobs(std::span<const float> raw, int32_t token, int32_t top_n,
                            TokenLogprob& out) {
  const float m = *std::max_element(raw.begin(), raw.end());
  double sum = 0.0;
  for (float v : raw) sum += std::exp(double(v - m));
  const float lse = m + float(std::log(sum));
  out.token_id = token;
  out.logprob = raw[size_t(token)] - lse;
  out.top.clear();
  const size_t n = std::min(size_t(std::max(top_n, 0)), raw.size());
  if (n == 0) return;
  idx_.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) idx_[i] = int32_t(i);
  auto higher = [&](int32_t a, int32_t b) {
    return raw[size_t(a)] > raw[size_t(b)] || (raw[size_t(a)] == raw[size_t(b)] && a < b);
  };
  std::partial_sort(idx_.begin(), idx_.begin() + std::ptrdiff_t(n), idx_.end(), higher);
  out.top.reserve(n);
  for (size_t i = 0; i < n; ++i) out.top.emplace_back(idx_[i], raw[size_t(idx_[i])] - lse);
}

void Sampler::mask_disallowed(std::span<float> logits, const SamplingParams& params) {
  const std::vector<int32_t>& allowed = params.allowed_token_ids;
  if (allowed.empty()) return;
  // Keep the allowed values, clear the row, put them back: linear in the row, whatever the list.
  allowed_values_.resize(allowed.size());
  for (size_t i = 0; i < allowed.size(); ++i) {
    allowed_values_[i] = in_row(allowed[i], logits) ? logits[size_t(allowed[i])] : kNegInf;
  }
  std::fill(logits.begin(), logits.end(), kNegInf);
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (in_row(allowed[i], logits)) logits[size_t(allowed[i])] = allowed_values_[i];
  }
}

void Sampler::ban_bad_words(std::span<float> logits, const SamplingParams& params,
                            const SamplingState& state) {
  const std::vector<int32_t>& out = state.output_ids;
  for (const std::vector<int32_t>& word : params.bad_words_token_ids) {
    if (word.empty() || !in_row(word.back(), logits)) continue;
    // As vLLM: only the generated ids count, so a prefix that ends in the prompt bans nothing.
    const size_t prefix = word.size() - 1;
    if (prefix > out.size()) continue;
    if (std::equal(word.begin(), word.end() - 1, out.end() - std::ptrdiff_t(prefix))) {
      logits[size_t(word.back())] = kNegInf;
    }
  }
}

void Sampler::apply_penalties(std::span<float> logits, const SamplingParams& params,
                              const SamplingState& state) {
  const float rep = params.repetition_penalty;
  auto repeat = [&](int32_t id) {
    float& l = logits[size_t(id)];
    l = l > 0 ? l / rep : l * rep;
  };
  if (rep != 1.0f) {
    for (int32_t id : state.prompt_unique) repeat(id);
    for (const auto& [id, count] : state.output_counts) {
      if (!std::binary_search(state.prompt_unique.begin(), state.prompt_unique.end(), id)) {
        repeat(id);
      }
    }
  }
  if (params.frequency_penalty != 0.0f || params.presence_penalty != 0.0f) {
    for (const auto& [id, count] : state.output_counts) {
      logits[size_t(id)] -= params.frequency_penalty * float(count) + params.presence_penalty;
    }
  }
}

int32_t Sampler::draw(std::span<float> logits, const SamplingParams& params, double u) {
  const size_t vocab = logits.size();
  const float m = *std::max_element(logits.begin(), logits.end());
  if (!std::isfinite(m)) return argmax(logits);
  const float inv_t = 1.0f / params.temperature;
  weights_.resize(vocab);
  // Weights relative to the most likely token (which has weight 1), so min_p is a plain cut.
  for (size_t i = 0; i < vocab; ++i) {
    float w = std::exp((logits[i] - m) * inv_t);
    weights_[i] = w < params.min_p ? 0.0f : w;
  }
  const bool top_k = params.top_k > 0 && size_t(params.top_k) < vocab;
  const bool top_p = params.top_p < 1.0f;
  if (!top_k && !top_p) {
    double total = 0.0;
    for (float w : weights_) total += w;
    double target = u * total;
    int32_t last = 0;
    for (size_t i = 0; i < vocab; ++i) {
      if (weights_[i] <= 0.0f) continue;
      last = int32_t(i);
      target -= weights_[i];
      if (target < 0.0) return last;
    }
    return last;
  }

  idx_.clear();
  for (size_t i = 0; i < vocab; ++i) {
    if (weights_[i] > 0.0f) idx_.push_back(int32_t(i));
  }
  auto heavier = [&](int32_t a, int32_t b) {
    return weights_[size_t(a)] > weights_[size_t(b)] ||
           (weights_[size_t(a)] == weights_[size_t(b)] && a < b);
  };
  if (top_k && idx_.size() > size_t(params.top_k)) {
    std::nth_element(idx_.begin(), idx_.begin() + params.top_k, idx_.end(), heavier);
    idx_.resize(size_t(params.top_k));
  }
  if (top_p) idx_.resize(top_p_cut(double(params.top_p)));
  double total = 0.0;
  for (int32_t i : idx_) total += weights_[size_t(i)];
  double target = u * total;
  for (int32_t i : idx_) {
    target -= weights_[size_t(i)];
    if (target < 0.0) return i;
  }
  return idx_.back();
}

size_t Sampler::top_p_cut(double fraction) {
  // Quickselect on mass: expected linear time, where sorting a 152k vocabulary would not be.
  double total = 0.0;
  for (int32_t i : idx_) total += weights_[size_t(i)];
  const double need = fraction * total;
  auto w = [&](int32_t i) { return weights_[size_t(i)]; };
  auto first = idx_.begin();
  size_t lo = 0, hi = idx_.size();
  double kept = 0.0;  // mass of idx_[0, lo), all kept; always below `need`
  while (lo < hi) {
    const float a = w(idx_[lo]), b = w(idx_[(lo + hi) / 2]), c = w(idx_[hi - 1]);
    const float pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
    auto gt_end = std::partition(first + std::ptrdiff_t(lo), first + std::ptrdiff_t(hi),
                                 [&](int32_t i) { return w(i) > pivot; });
    auto eq_end = std::partition(gt_end, first + std::ptrdiff_t(hi),
                                 [&](int32_t i) { return w(i) == pivot; });
    double gt_mass = 0.0;
    for (auto it = first + std::ptrdiff_t(lo); it != gt_end; ++it) gt_mass += w(*it);
    if (kept + gt_mass >= need) {
      hi = size_t(gt_end - first);  // the cut lies among the heavier ones
      continue;
    }
    kept += gt_mass;
    lo = size_t(gt_end - first);
    const size_t num_eq = size_t(eq_end - gt_end);
    if (kept + double(pivot) * double(num_eq) >= need) {
      // The cut falls among equal weights: keep just enough of them, lowest ids first.
      size_t k = size_t(std::ceil((need - kept) / double(pivot)));
      k = std::clamp<size_t>(k, 1, num_eq);
      if (k < num_eq) std::nth_element(gt_end, gt_end + std::ptrdiff_t(k), eq_end);
      return lo + k;
    }
    kept += double(pivot) * double(num_eq);
    lo = size_t(eq_end - first);
  }
  return std::max<size_t>(lo, 1);
}

}  // namespace kvtier::engine
