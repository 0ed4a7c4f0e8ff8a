#include "router/pickers.h"

#include <algorithm>
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

}  // namespace kvtier::router
