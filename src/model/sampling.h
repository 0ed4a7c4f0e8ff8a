#pragma once
// Token choice for offline generation and reference checks: greedy, temperature sampling, and
// the top-k log-probabilities of a logits row (natural log of the raw softmax).
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace kvtier::model {

struct TopLogprobs {
  std::vector<int32_t> ids;  // highest first; ties go to the lower id
  std::vector<double> logprobs;
};

int32_t argmax(std::span<const float> logits);
TopLogprobs top_logprobs(std::span<const float> logits, int k);
// softmax(logits / temperature) draw; temperature <= 0 means argmax.
int32_t sample_token(std::span<const float> logits, double temperature, std::mt19937_64& rng);

}  // namespace kvtier::model
