#include "router/pickers.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kvtier::router {

std::vector<size_t> MaxScorePicker::order(std::span<const double> total_scores,
                                          std::mt19937_64& rng) const {
  std::vector<size_t> order(total_scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Shuffling before a stable sort leaves equal scores in random relative order.
  std::shuffle(order.begin(), order.end(), rng);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return total_scores[a] > total_scores[b]; });
  return order;
}

std::vector<size_t> RandomPicker::order(std::span<const double> total_scores,
                                        std::mt19937_64& rng) const {
  std::vector<size_t> order(total_scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

std::vector<size_t> WeightedRandomPicker::order(std::span<const double> total_scores,
                                                std::mt19937_64& rng) const {
  std::vector<size_t> order(total_scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<double> keys(total_scores.size(), 0.0);
  for (size_t i : order) {
    // Drawn in shuffled order, so the keys do not depend on the candidates' positions.
    if (!(total_scores[i] > 0)) continue;
    double u = uniform(rng);
    if (u <= 0) u = 1e-10;
    // u^(1/w) through logs: exp(log(u) / w) stays in (0, 1] for any positive w.
    keys[i] = std::exp(std::log(u) / total_scores[i]);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool pa = total_scores[a] > 0, pb = total_scores[b] > 0;
    if (pa != pb) return pa;
    return keys[a] > keys[b];
  });
  return order;
}

}  // namespace kvtier::router
