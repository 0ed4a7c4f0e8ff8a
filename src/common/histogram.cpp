#include "common/histogram.h"

#include <algorithm>

namespace kvtier {

HistogramSnapshot empty_histogram(std::vector<double> bounds) {
  HistogramSnapshot h;
  std::sort(bounds.begin(), bounds.end());
  h.bounds = std::move(bounds);
  h.counts.assign(h.bounds.size() + 1, 0);
  return h;
}

void observe(HistogramSnapshot& h, double value) {
  // A value equal to a bound belongs to that bucket (Prometheus' le).
  const size_t bucket =
      size_t(std::lower_bound(h.bounds.begin(), h.bounds.end(), value) - h.bounds.begin());
  h.counts[bucket]++;
  h.sum += value;
  h.count++;
}

Histogram::Histogram(std::vector<double> bounds) : data_(empty_histogram(std::move(bounds))) {}

void Histogram::observe(double value) {
  std::lock_guard lock(mu_);
  kvtier::observe(data_, value);
}

HistogramSnapshot Histogram::snapshot() const {
  std::lock_guard lock(mu_);
  return data_;
}

}  // namespace kvtier
