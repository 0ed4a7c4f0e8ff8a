#pragma once
// max-score-picker: highest total score first, ties broken at random.
// random-picker: a uniformly random order, ignoring scores.
// weighted-random-picker: a random order weighted by score (Gateway API Inference Extension's
// A-Res sampling), so better endpoints are picked more often without all taking the best.
#include "router/scorer.h"

namespace kvtier::router {

class MaxScorePicker : public Picker {
 public:
  std::string_view type() const override { return "max-score-picker"; }
  std::vector<size_t> order(std::span<const double> total_scores,
                            std::mt19937_64& rng) const override;
};

class RandomPicker : public Picker {
 public:
  std::string_view type() const override { return "random-picker"; }
  std::vector<size_t> order(std::span<const double> total_scores,
                            std::mt19937_64& rng) const override;
};

// Each candidate with a positive total gets the key u^(1/total), u uniform in (0, 1); the order
// is by key, largest first: a weighted sample without replacement, so the first entry is picked
// with probability total / sum of totals. Candidates scoring 0 come last, in random order; when
// every total is 0 the order is uniformly random (GIE hands that case to its random picker).
// maxNumOfEndpoints is how many of the order GIE would return as targets; the router keeps the
// whole order for retries, so it is informational here.
class WeightedRandomPicker : public Picker {
 public:
  explicit WeightedRandomPicker(size_t max_num_of_endpoints = 1)
      : max_num_of_endpoints_(max_num_of_endpoints) {}
  std::string_view type() const override { return "weighted-random-picker"; }
  std::vector<size_t> order(std::span<const double> total_scores,
                            std::mt19937_64& rng) const override;
  size_t max_num_of_endpoints() const { return max_num_of_endpoints_; }

 private:
  size_t max_num_of_endpoints_;
};

}  // namespace kvtier::router
