#pragma once
// max-score-picker: highest total score first, ties broken at random.
// random-picker: a uniformly random order, ignoring scores.
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

}  // namespace kvtier::router
