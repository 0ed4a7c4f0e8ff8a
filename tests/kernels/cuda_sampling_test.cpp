// sample_rows against a host reference of the engine sampler's semantics: greedy arg-max with
// ties, the top_k / top_p / min_p sets, the distribution of seeded draws, the draw of the host's
// random stream, batch invariance and raw log-probabilities; the small-top_k path against the
// general one, token for token.
#ifdef KVTIER_HAVE_CUDA
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "kernels/cuda/sampling.h"
#include "kernels/cuda_test_util.h"

namespace kvtier::kernels::cuda {
namespace {

using testing::CudaTest;
using testing::DeviceArray;

class CudaSamplingTest : public CudaTest {
 protected:
  // Samples every row of `logits` ([rows][vocab]) with its params.
  std::vector<SampleRowResult> sample(const std::vector<float>& logits, int32_t vocab,
                                      const std::vector<SampleRowParams>& params) {
    const int32_t rows = int32_t(params.size());
    DeviceArray<float> d_logits(logits);
    DeviceArray<SampleRowParams> d_params(params);
    DeviceArray<SampleRowResult> d_results(params.size());
    d_results.poison();
    KernelStatus s =
        sample_rows(stream_, d_logits.get(), rows, vocab, d_params.get(), d_results.get());
    EXPECT_TRUE(s.ok()) << s.message;
    sync();
    return d_results.download();
  }
};

std::vector<float> normal_logits(size_t n, uint32_t seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

SampleRowParams greedy() {
  SampleRowParams p;
  p.temperature = 0.0f;
  return p;
}

int32_t host_argmax(const float* row, int32_t vocab) {
  return int32_t(std::max_element(row, row + vocab) - row);
}

// The host sampler's kept set for one row, heaviest first (ties to the lower id), with weights.
struct HostSet {
  std::vector<int32_t> ids;
  std::vector<double> weights;
  bool contains(int32_t id) const { return std::find(ids.begin(), ids.end(), id) != ids.end(); }
  double weight_of(int32_t id) const {
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] == id) return weights[i];
    return 0.0;
  }
  double total() const { return std::accumulate(weights.begin(), weights.end(), 0.0); }
};

std::vector<float> host_weights(const float* row, int32_t vocab, const SampleRowParams& p) {
  const float m = *std::max_element(row, row + vocab);
  const float inv_t = 1.0f / p.temperature;
  std::vector<float> w(static_cast<size_t>(vocab));
  for (int32_t i = 0; i < vocab; ++i) {
    const float x = std::exp((row[i] - m) * inv_t);
    w[size_t(i)] = x < p.min_p ? 0.0f : x;
  }
  return w;
}

HostSet host_set(const float* row, int32_t vocab, const SampleRowParams& p) {
  const std::vector<float> w = host_weights(row, vocab, p);
  std::vector<int32_t> idx;
  for (int32_t i = 0; i < vocab; ++i)
    if (w[size_t(i)] > 0.0f) idx.push_back(i);
  std::sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
    return w[size_t(a)] > w[size_t(b)] || (w[size_t(a)] == w[size_t(b)] && a < b);
  });
  if (p.top_k > 0 && size_t(p.top_k) < idx.size()) idx.resize(size_t(p.top_k));
  if (p.top_p < 1.0f) {
    double total = 0.0;
    for (int32_t i : idx) total += w[size_t(i)];
    const double need = double(p.top_p) * total;
    double acc = 0.0;
    size_t keep = 0;
    while (keep < idx.size() && acc < need) acc += w[size_t(idx[keep++])];
    idx.resize(std::max<size_t>(keep, 1));
  }
  HostSet s;
  s.ids = idx;
  for (int32_t i : idx) s.weights.push_back(w[size_t(i)]);
  return s;
}

// A token outside the host set is acceptable only when its weight ties the set's lightest
// member to float rounding (the device computes exp with a different rounding).
bool inside_or_at_boundary(const HostSet& s, const std::vector<float>& w, int32_t id) {
  if (s.contains(id)) return true;
  const double edge = s.weights.back();
  return std::fabs(double(w[size_t(id)]) - edge) <= 1e-5 * edge;
}

TEST_F(CudaSamplingTest, GreedyEqualsHostArgmaxIncludingTies) {
  for (int32_t vocab : {1, 7, 1000, 1025, 151936}) {
    const int32_t rows = 6;
    std::vector<float> logits = normal_logits(size_t(rows) * vocab, uint32_t(vocab));
    // Row 1: the maximum twice (the lower index wins); row 2: every entry equal; row 3: -inf
    // everywhere but one; row 4: all -inf (index 0, as the host's max_element).
    float* r1 = logits.data() + vocab;
    const float top = *std::max_element(r1, r1 + vocab) + 1.0f;
    r1[vocab - 1] = top;
    r1[vocab / 2] = top;
    std::fill(logits.begin() + 2 * vocab, logits.begin() + 3 * vocab, 0.25f);
    std::fill(logits.begin() + 3 * vocab, logits.begin() + 4 * vocab,
              -std::numeric_limits<float>::infinity());
    logits[size_t(3) * vocab + size_t(vocab) * 2 / 3] = -5.0f;
    std::fill(logits.begin() + 4 * vocab, logits.begin() + 5 * vocab,
              -std::numeric_limits<float>::infinity());
    auto results = sample(logits, vocab, std::vector<SampleRowParams>(rows, greedy()));
    for (int32_t r = 0; r < rows; ++r) {
      EXPECT_EQ(results[r].id, host_argmax(logits.data() + size_t(r) * vocab, vocab))
          << "vocab " << vocab << " row " << r;
      EXPECT_EQ(results[r].num_top, 0);
    }
  }
}

TEST_F(CudaSamplingTest, SampledTokensStayInsideTheHostSet) {
  const int32_t vocab = 5000, rows = 240;
  std::vector<float> logits = normal_logits(size_t(rows) * vocab, 5, 2.0f);
  std::vector<SampleRowParams> params(rows);
  const float temps[] = {0.5f, 1.0f, 1.7f};
  const int32_t ks[] = {0, 1, 5, 60};
  const float ps[] = {1.0f, 0.9f, 0.3f};
  const float min_ps[] = {0.0f, 0.05f, 0.3f};
  for (int32_t r = 0; r < rows; ++r) {
    SampleRowParams& p = params[r];
    p.temperature = temps[r % 3];
    p.top_k = ks[(r / 3) % 4];
    p.top_p = ps[(r / 12) % 3];
    p.min_p = min_ps[(r / 36) % 3];
    p.seed = 1000 + uint64_t(r);
    p.counter = uint64_t(r % 7);
  }
  // Row 0..2 with many equal weights at the top-k edge: ties must go to the lower ids.
  for (int32_t r = 0; r < 3; ++r) {
    std::fill(logits.begin() + size_t(r) * vocab, logits.begin() + size_t(r + 1) * vocab, 0.0f);
    params[r].top_k = 5;
    params[r].top_p = 1.0f;
    params[r].min_p = 0.0f;
  }
  auto results = sample(logits, vocab, params);
  int sets_smaller_than_vocab = 0;
  for (int32_t r = 0; r < rows; ++r) {
    const float* row = logits.data() + size_t(r) * vocab;
    const HostSet s = host_set(row, vocab, params[r]);
    const auto w = host_weights(row, vocab, params[r]);
    sets_smaller_than_vocab += s.ids.size() < size_t(vocab) ? 1 : 0;
    EXPECT_TRUE(inside_or_at_boundary(s, w, results[r].id))
        << "row " << r << ": token " << results[r].id << " outside the host set of "
        << s.ids.size() << " (t " << params[r].temperature << " k " << params[r].top_k << " p "
        << params[r].top_p << " min_p " << params[r].min_p << ")";
    if (params[r].top_k == 1) {
      EXPECT_EQ(results[r].id, host_argmax(row, vocab)) << "row " << r;
    }
  }
  for (int32_t r = 0; r < 3; ++r) EXPECT_LT(results[r].id, 5) << "tied row " << r;
  EXPECT_GT(sets_smaller_than_vocab, rows / 2);
}

// Chi-square of `draws` ([id] -> count) against the host set's normalised weights.
double chi_square(const std::map<int32_t, int>& draws, const HostSet& s, int n) {
  double chi2 = 0.0;
  const double total = s.total();
  for (size_t i = 0; i < s.ids.size(); ++i) {
    const double expected = n * s.weights[i] / total;
    const auto it = draws.find(s.ids[i]);
    const double got = it == draws.end() ? 0.0 : it->second;
    chi2 += (got - expected) * (got - expected) / expected;
  }
  return chi2;
}

TEST_F(CudaSamplingTest, DrawFrequenciesFollowTheHostDistribution) {
  const int32_t vocab = 12, draws = 20000;
  const std::vector<float> row = {1.0f, 0.5f, 2.0f, -1.0f, 0.0f, 1.5f,
                                  0.2f, -0.5f, 1.2f, 0.8f, -2.0f, 0.9f};
  struct Case {
    float t;
    int32_t k;
    float p, min_p;
  };
  for (const Case c : {Case{1.0f, 0, 1.0f, 0.0f}, Case{0.7f, 5, 1.0f, 0.0f},
                       Case{1.3f, 0, 0.8f, 0.0f}, Case{1.0f, 0, 1.0f, 0.2f},
                       Case{0.9f, 8, 0.9f, 0.05f}}) {
    std::vector<float> logits;
    std::vector<SampleRowParams> params(draws);
    for (int32_t d = 0; d < draws; ++d) {
      logits.insert(logits.end(), row.begin(), row.end());
      params[d].temperature = c.t;
      params[d].top_k = c.k;
      params[d].top_p = c.p;
      params[d].min_p = c.min_p;
      params[d].seed = 42;
      params[d].counter = uint64_t(d);
    }
    auto results = sample(logits, vocab, params);
    const HostSet s = host_set(row.data(), vocab, params[0]);
    std::map<int32_t, int> counts;
    for (const auto& r : results) {
      ASSERT_TRUE(s.contains(r.id)) << "token " << r.id << " outside the set";
      ++counts[r.id];
    }
    // With k categories the statistic has k-1 degrees of freedom (mean k-1, sd sqrt(2(k-1)));
    // 60 is beyond the 1e-6 tail for k <= 12, yet a wrong distribution lands far above it.
    const double chi2 = chi_square(counts, s, draws);
    EXPECT_LT(chi2, 60.0) << "t " << c.t << " k " << c.k << " p " << c.p << " min_p " << c.min_p
                          << " over " << s.ids.size() << " tokens";
    EXPECT_EQ(counts.size(), s.ids.size()) << "every token of the set is drawn at some point";
  }
}

TEST_F(CudaSamplingTest, PlainDrawsFollowTheHostRandomStream) {
  // Without top_k / top_p the host draws by inverse CDF in vocabulary order with
  // u = uniform_from(seed, counter): the device picks the same token unless u lands on a
  // boundary to within rounding.
  const int32_t vocab = 3000, rows = 200;
  std::vector<float> logits = normal_logits(size_t(rows) * vocab, 9, 1.5f);
  std::vector<SampleRowParams> params(rows);
  for (int32_t r = 0; r < rows; ++r) {
    params[r].temperature = r % 2 ? 0.8f : 1.0f;
    params[r].min_p = r % 3 == 0 ? 0.1f : 0.0f;
    params[r].seed = 7 * uint64_t(r) + 1;
    params[r].counter = uint64_t(r);
  }
  auto results = sample(logits, vocab, params);
  int differ = 0;
  for (int32_t r = 0; r < rows; ++r) {
    const auto w = host_weights(logits.data() + size_t(r) * vocab, vocab, params[r]);
    double total = 0.0;
    for (float x : w) total += x;
    const double target = sample_uniform(params[r].seed, params[r].counter) * total;
    double acc = 0.0;
    int32_t want = -1;
    for (int32_t i = 0; i < vocab && want < 0; ++i) {
      acc += w[size_t(i)];
      if (w[size_t(i)] > 0.0f && acc > target) want = i;
    }
    if (results[r].id != want) {
      ++differ;
      // The host token's interval is [acc - w, acc): u must sit at one of its ends.
      const double gap =
          std::min(std::fabs(acc - target), std::fabs(acc - w[size_t(want)] - target));
      EXPECT_LE(gap, 1e-5 * total) << "row " << r << ": device " << results[r].id << ", host "
                                   << want << " far from a boundary";
    }
  }
  EXPECT_LE(differ, 1);
}

TEST_F(CudaSamplingTest, SeededRowsDoNotDependOnTheBatchOrTheRun) {
  const int32_t vocab = 151936;
  const std::vector<float> row = normal_logits(size_t(vocab), 21, 2.0f);
  SampleRowParams p;
  p.temperature = 0.9f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.min_p = 0.01f;
  p.seed = 123456789;
  p.num_logprobs = 5;
  // Alone, then at position 17 of a batch of 24 other rows, then again alone.
  std::vector<int32_t> alone_ids, batch_ids;
  for (uint64_t counter = 0; counter < 8; ++counter) {
    p.counter = counter;
    auto alone = sample(row, vocab, {p});
    const int32_t rows = 24;
    std::vector<float> logits = normal_logits(size_t(rows) * vocab, 100 + uint32_t(counter));
    std::copy(row.begin(), row.end(), logits.begin() + size_t(17) * vocab);
    std::vector<SampleRowParams> params(rows, p);
    for (int32_t r = 0; r < rows; ++r) params[r].seed = uint64_t(r) * 31 + counter;
    params[17] = p;
    auto batch = sample(logits, vocab, params);
    auto again = sample(row, vocab, {p});
    EXPECT_EQ(alone[0].id, batch[17].id) << "counter " << counter;
    EXPECT_EQ(alone[0].id, again[0].id) << "counter " << counter;
    EXPECT_EQ(alone[0].logprob, batch[17].logprob) << "counter " << counter;
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(alone[0].top_ids[j], batch[17].top_ids[j]);
      EXPECT_EQ(alone[0].top_logprobs[j], batch[17].top_logprobs[j]);
    }
    alone_ids.push_back(alone[0].id);
  }
  // The stream moves on with the counter.
  EXPECT_GT(std::set<int32_t>(alone_ids.begin(), alone_ids.end()).size(), 1u);
}

TEST_F(CudaSamplingTest, LogprobsMatchHostLogSoftmax) {
  for (int32_t vocab : {3, 1000, 151936}) {
    const int32_t rows = 4;
    std::vector<float> logits = normal_logits(size_t(rows) * vocab, 77 + uint32_t(vocab), 4.0f);
    for (int32_t r : {1, 3}) {
      if (vocab <= 40) break;
      // Ties inside the top 20 and at its edge (lower ids first).
      float* row = logits.data() + size_t(r) * vocab;
      const float top = *std::max_element(row, row + vocab);
      for (int j = 0; j < 30; ++j) row[size_t(vocab - 1 - 7 * j)] = top + 1.0f;
    }
    std::vector<SampleRowParams> params(rows);
    const int32_t asks[] = {0, 1, 5, 20};
    for (int32_t r = 0; r < rows; ++r) {
      params[r] = r % 2 ? greedy() : SampleRowParams{};
      params[r].seed = uint64_t(r);
      params[r].num_logprobs = asks[r];
    }
    auto results = sample(logits, vocab, params);
    for (int32_t r = 0; r < rows; ++r) {
      const float* row = logits.data() + size_t(r) * vocab;
      const float m = *std::max_element(row, row + vocab);
      double sum = 0.0;
      for (int32_t i = 0; i < vocab; ++i) sum += std::exp(double(row[i]) - m);
      const double lse = m + std::log(sum);
      const SampleRowResult& got = results[r];
      ASSERT_GE(got.id, 0);
      ASSERT_LT(got.id, vocab);
      EXPECT_NEAR(got.logprob, row[got.id] - lse, 1e-4) << "vocab " << vocab << " row " << r;
      std::vector<int32_t> order(static_cast<size_t>(vocab));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return row[a] > row[b]; });
      const int32_t n = std::min(asks[r], vocab);
      ASSERT_EQ(got.num_top, n);
      for (int32_t j = 0; j < n; ++j) {
        EXPECT_EQ(got.top_ids[j], order[size_t(j)])
            << "vocab " << vocab << " row " << r << " #" << j;
        EXPECT_NEAR(got.top_logprobs[j], row[order[size_t(j)]] - lse, 1e-4);
      }
    }
  }
}

TEST_F(CudaSamplingTest, EdgeParametersBehaveAsOnTheHost) {
  const int32_t vocab = 500;
  const std::vector<float> row = normal_logits(size_t(vocab), 3);
  const int32_t best = host_argmax(row.data(), vocab);
  std::vector<SampleRowParams> params(4);
  params[0].min_p = 1.0f;          // only the most likely token has weight 1
  params[1].top_p = 1e-6f;         // the smallest set reaching the mass: the top token
  params[2].top_k = vocab;         // off
  params[3].temperature = 1e-6f;   // below the greedy threshold
  for (size_t i = 0; i < params.size(); ++i) params[i].seed = 5 + i;
  std::vector<float> logits;
  for (size_t i = 0; i < params.size(); ++i) logits.insert(logits.end(), row.begin(), row.end());
  auto results = sample(logits, vocab, params);
  EXPECT_EQ(results[0].id, best);
  EXPECT_EQ(results[1].id, best);
  EXPECT_GE(results[2].id, 0);
  EXPECT_LT(results[2].id, vocab);
  EXPECT_EQ(results[3].id, best);
}

// Rows whose top-k and top-p edges fall on ties, with fewer positive weights than k, or in an
// order that makes every element a new best: the shapes where a candidate list could go wrong.
enum class RowShape { kNormal, kQuantized, kAllEqual, kAscending, kDescending, kFewPositive,
                      kInfAndNan, kCount };

std::vector<float> shaped_row(RowShape shape, int32_t vocab, uint32_t seed) {
  std::vector<float> row = normal_logits(size_t(vocab), seed, 2.5f);
  switch (shape) {
    case RowShape::kNormal:
      break;
    case RowShape::kQuantized:  // a few distinct values: ties everywhere, also at the top
      for (auto& x : row) x = std::round(x * 2.0f) / 2.0f;
      break;
    case RowShape::kAllEqual:
      std::fill(row.begin(), row.end(), 1.5f);
      break;
    case RowShape::kAscending:
      for (int32_t i = 0; i < vocab; ++i) row[size_t(i)] = float(i) * 1e-3f;
      break;
    case RowShape::kDescending:
      for (int32_t i = 0; i < vocab; ++i) row[size_t(i)] = -float(i) * 1e-3f;
      break;
    case RowShape::kFewPositive:  // a wide spread: at low temperature most weights underflow to 0
      for (auto& x : row) x *= 40.0f;
      break;
    case RowShape::kInfAndNan:
      for (int32_t i = 0; i < vocab; i += 3) row[size_t(i)] = -std::numeric_limits<float>::infinity();
      for (int32_t i = 1; i < vocab; i += 7) row[size_t(i)] = std::numeric_limits<float>::quiet_NaN();
      break;
    case RowShape::kCount:
      break;
  }
  return row;
}

TEST_F(CudaSamplingTest, SmallTopKPathEqualsTheGeneralPath) {
  struct Setting {
    float t;
    int32_t k;
    float p, min_p;
  };
  // Qwen3's generation defaults first, then the common and the extreme settings.
  const Setting settings[] = {{0.6f, 20, 0.95f, 0.0f}, {0.7f, 50, 0.9f, 0.0f},
                              {1.0f, 64, 1.0f, 0.0f},  {0.8f, 1, 1.0f, 0.0f},
                              {1.0f, 2, 0.5f, 0.0f},   {1.3f, 40, 0.3f, 0.05f},
                              {0.05f, 20, 0.95f, 0.0f}, {0.9f, 33, 0.999f, 0.2f},
                              {0.6f, 20, 1e-6f, 0.0f}};
  const int32_t num_settings = int32_t(std::size(settings));
  const int32_t num_shapes = int32_t(RowShape::kCount);
  int compared = 0, draws_differ_from_argmax = 0;
  for (int32_t vocab : {40, 65, 1000, 4099, 151936}) {
    const int32_t rows = vocab > 10000 ? 2 * num_shapes * 4 : num_shapes * num_settings * 3;
    std::vector<float> logits;
    std::vector<SampleRowParams> params(static_cast<size_t>(rows));
    for (int32_t r = 0; r < rows; ++r) {
      const auto shape = RowShape(r % num_shapes);
      const std::vector<float> row = shaped_row(shape, vocab, uint32_t(r * 131 + vocab));
      logits.insert(logits.end(), row.begin(), row.end());
      const Setting& s = settings[(r / num_shapes + (vocab > 10000 ? r : 0)) % num_settings];
      SampleRowParams& p = params[size_t(r)];
      p.temperature = s.t;
      p.top_k = s.k;
      p.top_p = s.p;
      p.min_p = s.min_p;
      p.seed = 0x5eed0000ull + uint64_t(r) * 977 + uint64_t(vocab);
      p.counter = uint64_t(r % 11);
      p.num_logprobs = r % 5 == 0 ? 20 : -1;
    }
    DeviceArray<float> d_logits(logits);
    DeviceArray<SampleRowParams> d_params(params);
    DeviceArray<SampleRowResult> fast(params.size()), general(params.size());
    fast.poison();
    general.poison(0x3c);
    ASSERT_TRUE(sample_rows(stream_, d_logits.get(), rows, vocab, d_params.get(), fast.get()).ok());
    ASSERT_TRUE(
        sample_rows_general(stream_, d_logits.get(), rows, vocab, d_params.get(), general.get())
            .ok());
    sync();
    const auto got = fast.download();
    const auto want = general.download();
    for (int32_t r = 0; r < rows; ++r) {
      const SampleRowParams& p = params[size_t(r)];
      ASSERT_EQ(got[r].id, want[r].id)
          << "vocab " << vocab << " row " << r << " shape " << r % num_shapes << " (t "
          << p.temperature << " k " << p.top_k << " p " << p.top_p << " min_p " << p.min_p
          << " counter " << p.counter << ")";
      ASSERT_EQ(got[r].num_top, want[r].num_top);
      EXPECT_EQ(got[r].logprob, want[r].logprob);
      for (int32_t j = 0; j < std::max(want[r].num_top, 0); ++j)
        EXPECT_EQ(got[r].top_ids[j], want[r].top_ids[j]);
      ++compared;
      const float* row = logits.data() + size_t(r) * vocab;
      draws_differ_from_argmax += got[r].id != host_argmax(row, vocab) ? 1 : 0;
    }
  }
  EXPECT_GT(compared, 500);
  // Not a comparison of two arg-maxes: many rows really draw.
  EXPECT_GT(draws_differ_from_argmax, compared / 10);
}

TEST_F(CudaSamplingTest, SmallTopKDrawsFollowTheHostStreamOverManyCounters) {
  // One Qwen3-sized row drawn 512 times (seeded stream, counters 0..511) by both paths: equal
  // tokens, spread over most of the top 20.
  const int32_t vocab = 151936, draws = 512;
  const std::vector<float> row = normal_logits(size_t(vocab), 31, 3.0f);
  std::vector<float> logits;
  std::vector<SampleRowParams> params(draws);
  for (int32_t d = 0; d < draws; ++d) {
    logits.insert(logits.end(), row.begin(), row.end());
    params[size_t(d)].temperature = 0.6f;
    params[size_t(d)].top_k = 20;
    params[size_t(d)].top_p = 0.95f;
    params[size_t(d)].seed = 99;
    params[size_t(d)].counter = uint64_t(d);
  }
  DeviceArray<float> d_logits(logits);
  DeviceArray<SampleRowParams> d_params(params);
  DeviceArray<SampleRowResult> fast(params.size()), general(params.size());
  ASSERT_TRUE(sample_rows(stream_, d_logits.get(), draws, vocab, d_params.get(), fast.get()).ok());
  ASSERT_TRUE(
      sample_rows_general(stream_, d_logits.get(), draws, vocab, d_params.get(), general.get())
          .ok());
  sync();
  const auto got = fast.download();
  const auto want = general.download();
  const HostSet top = host_set(row.data(), vocab, params[0]);
  std::set<int32_t> seen;
  for (int32_t d = 0; d < draws; ++d) {
    ASSERT_EQ(got[d].id, want[d].id) << "counter " << d;
    EXPECT_TRUE(top.contains(got[d].id)) << "counter " << d << ": token " << got[d].id;
    seen.insert(got[d].id);
  }
  EXPECT_GE(seen.size(), std::min<size_t>(top.ids.size(), 5));
}

TEST_F(CudaSamplingTest, RejectsBadShapes) {
  DeviceArray<float> logits(8);
  DeviceArray<SampleRowParams> params(1);
  DeviceArray<SampleRowResult> results(1);
  EXPECT_FALSE(sample_rows(stream_, logits.get(), 1, 0, params.get(), results.get()).ok());
  EXPECT_FALSE(sample_rows(stream_, nullptr, 1, 8, params.get(), results.get()).ok());
  EXPECT_TRUE(sample_rows(stream_, logits.get(), 0, 8, params.get(), results.get()).ok());
  EXPECT_FALSE(sample_rows_general(stream_, logits.get(), 1, -3, params.get(), results.get()).ok());
}

}  // namespace
}  // namespace kvtier::kernels::cuda
#endif  // KVTIER_HAVE_CUDA
