#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace kvtier::kernels::cpu {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Hugging Face's rotate-half in float64 with exact angles.
std::vector<double> rope_reference(const float* x, int d, double pos, double theta) {
  std::vector<double> out(d);
  for (int i = 0; i < d / 2; ++i) {
    const double f = std::pow(theta, -2.0 * i / d);
    const double c = std::cos(pos * f), s = std::sin(pos * f);
    out[i] = x[i] * c - x[i + d / 2] * s;
    out[i + d / 2] = x[i + d / 2] * c + x[i] * s;
  }
  return out;
}

TEST(Rope, InvFreqFollowsTheta) {
  auto inv = rope_inv_freq(128, 1e6);
  ASSERT_EQ(inv.size(), 64u);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  for (int i = 0; i < 64; ++i)
    EXPECT_NEAR(inv[i], std::pow(1e6, -2.0 * i / 128), 1e-7 * (1 + inv[i]));
}

TEST(Rope, MatchesRotateHalfReference) {
  ThreadPool pool(2);
  const int heads = 3, d = 64, stride = heads * d + 10, rows = 6;
  const double theta = 1e6;
  auto x = random_vec(size_t(rows) * stride, 1);
  auto orig = x;
  std::vector<int32_t> pos = {0, 1, 2, 17, 300, 1500};
  apply_rope(pool, x.data(), stride, rows, heads, d, pos.data(), rope_inv_freq(d, theta));
  for (int r = 0; r < rows; ++r) {
    for (int h = 0; h < heads; ++h) {
      auto ref = rope_reference(orig.data() + r * stride + h * d, d, pos[r], theta);
      // Angles are formed in fp32 as transformers does: error grows with the position.
      const double tol = 1e-5 + 4e-7 * pos[r];
      for (int i = 0; i < d; ++i)
        ASSERT_NEAR(x[r * stride + h * d + i], ref[i], tol) << r << " " << h << " " << i;
    }
    for (int i = heads * d; i < stride; ++i) ASSERT_EQ(x[r * stride + i], orig[r * stride + i]);
  }
  // Position 0 is the identity.
  for (int i = 0; i < heads * d; ++i) EXPECT_FLOAT_EQ(x[i], orig[i]);
}

TEST(Rope, DotProductDependsOnRelativePositionOnly) {
  ThreadPool pool(1);
  const int d = 32;
  auto q = random_vec(d, 2), k = random_vec(d, 3);
  auto inv = rope_inv_freq(d, 10000.0);
  auto dot_at = [&](int32_t pq, int32_t pk) {
    auto a = q, b = k;
    apply_rope(pool, a.data(), d, 1, 1, d, &pq, inv);
    apply_rope(pool, b.data(), d, 1, 1, d, &pk, inv);
    double s = 0;
    for (int i = 0; i < d; ++i) s += double(a[i]) * b[i];
    return s;
  };
  EXPECT_NEAR(dot_at(5, 2), dot_at(105, 102), 1e-3);
  EXPECT_NEAR(dot_at(40, 0), dot_at(47, 7), 1e-3);
  EXPECT_GT(std::abs(dot_at(5, 2) - dot_at(5, 4)), 1e-3);  // and it does depend on it
}

}  // namespace
}  // namespace kvtier::kernels::cpu
