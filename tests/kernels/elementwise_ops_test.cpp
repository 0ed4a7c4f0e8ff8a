// RMSNorm, SiLU-gate, embedding, residual add and the BLAS linear layer against plain loops.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/rmsnorm.h"

namespace kvtier::kernels::cpu {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(RmsNorm, MatchesDefinitionWithStrides) {
  ThreadPool pool(2);
  const int rows = 37, dim = 96, x_stride = 100, out_stride = 128;
  auto x = random_vec(size_t(rows) * x_stride, 1);
  auto w = random_vec(dim, 2, 0.5f, 1.5f);
  std::vector<float> out(size_t(rows) * out_stride, -7.0f);
  const float eps = 1e-6f;
  rmsnorm(pool, x.data(), x_stride, w.data(), out.data(), out_stride, rows, dim, eps);
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += double(x[r * x_stride + i]) * x[r * x_stride + i];
    const double inv = 1.0 / std::sqrt(ss / dim + eps);
    for (int i = 0; i < dim; ++i)
      ASSERT_NEAR(out[r * out_stride + i], x[r * x_stride + i] * inv * w[i], 1e-5) << r << "," << i;
    for (int i = dim; i < out_stride; ++i) ASSERT_EQ(out[r * out_stride + i], -7.0f);  // untouched
  }
}

TEST(RmsNorm, PerHeadNormalizesEachHeadOnly) {
  ThreadPool pool(2);
  const int rows = 5, heads = 3, d = 16, stride = 64;  // 48 used, 16 left alone per row
  auto x = random_vec(size_t(rows) * stride, 3);
  auto orig = x;
  auto w = random_vec(d, 4, 0.5f, 2.0f);
  rmsnorm_heads(pool, x.data(), stride, rows, heads, d, w.data(), 1e-6f);
  for (int r = 0; r < rows; ++r) {
    for (int h = 0; h < heads; ++h) {
      const float* src = orig.data() + r * stride + h * d;
      double ss = 0;
      for (int i = 0; i < d; ++i) ss += double(src[i]) * src[i];
      const double inv = 1.0 / std::sqrt(ss / d + 1e-6);
      for (int i = 0; i < d; ++i) ASSERT_NEAR(x[r * stride + h * d + i], src[i] * inv * w[i], 1e-5);
    }
    for (int i = heads * d; i < stride; ++i) ASSERT_EQ(x[r * stride + i], orig[r * stride + i]);
  }
}

TEST(SiluMul, MatchesDefinition) {
  ThreadPool pool(2);
  const int rows = 9, inter = 70;
  auto gu = random_vec(size_t(rows) * 2 * inter, 5, -6.0f, 6.0f);
  std::vector<float> out(size_t(rows) * inter);
  silu_mul(pool, gu.data(), rows, inter, out.data());
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < inter; ++i) {
      const double g = gu[r * 2 * inter + i], u = gu[r * 2 * inter + inter + i];
      ASSERT_NEAR(out[r * inter + i], g / (1 + std::exp(-g)) * u, 1e-5);
    }
}

TEST(Embedding, CopiesRowsOfIds) {
  ThreadPool pool(2);
  const int vocab = 50, dim = 12;
  auto table = random_vec(size_t(vocab) * dim, 6);
  std::vector<int32_t> ids = {3, 0, 49, 3, 17};
  std::vector<float> out(ids.size() * dim);
  embedding(pool, table.data(), dim, ids.data(), int64_t(ids.size()), out.data());
  for (size_t t = 0; t < ids.size(); ++t)
    for (int i = 0; i < dim; ++i) ASSERT_EQ(out[t * dim + i], table[ids[t] * dim + i]);
}

TEST(AddInplace, AddsElementwise) {
  ThreadPool pool(3);
  auto x = random_vec(100003, 7);
  auto y = random_vec(100003, 8);
  auto expect = x;
  for (size_t i = 0; i < x.size(); ++i) expect[i] += y[i];
  add_inplace(pool, x.data(), y.data(), int64_t(x.size()));
  EXPECT_EQ(x, expect);
}

class LinearTest : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(LinearTest, MatchesNaiveProduct) {
  auto [m, k, n] = GetParam();
  ThreadPool pool(3);
  auto x = random_vec(size_t(m) * k, 9);
  auto w = random_vec(size_t(n) * k, 10);
  std::vector<float> y(size_t(m) * n, 99.0f);
  linear(pool, x.data(), m, k, w.data(), n, y.data());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int t = 0; t < k; ++t) acc += double(x[i * k + t]) * w[j * k + t];
      ASSERT_NEAR(y[size_t(i) * n + j], acc, 1e-3 * (1 + std::abs(acc))) << i << "," << j;
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearTest,
                         ::testing::Values(std::make_tuple(1, 64, 5), std::make_tuple(1, 128, 1001),
                                           std::make_tuple(7, 33, 257),
                                           std::make_tuple(64, 128, 384),
                                           std::make_tuple(3, 1, 17)));

}  // namespace
}  // namespace kvtier::kernels::cpu
