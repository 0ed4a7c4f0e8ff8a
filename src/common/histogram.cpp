#include "common/histogram.h"

#include <algorithm>

namespace kvtier {

Histogram::Histogram(std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  data_.bounds = std::move(bounds);
  data_.counts.assign(data_.bounds.size() + 1, 0);
}

void Histogram::observe(double value) {
  size_t bucket = size_t(std::lower_bound(data_.bounds.begin(), data_.bounds.end(), value) -
                         data_.bounds.begin());
  std::lock_guard lock(mu_);
  data_.counts[bucket]++;
  data_.sum += value;
  data_.count++;
}

HistogramSnapshot Histogram::snapshot() const {
  std::lock_guard lock(mu_);
  return data_;
}

}  // namespace kvtier
