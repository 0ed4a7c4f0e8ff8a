// CUDA elementwise kernels, norms, RoPE + KV write, sampling and GEMMs against CPU loops.
#ifdef KVTIER_HAVE_CUDA
#include <cmath>
#include <numeric>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/rope_kv.h"
#include "kernels/cuda/sampling.h"
#include "kernels/cuda/skinny_gemm.h"
#include "kernels/cuda_test_util.h"

namespace kvtier::kernels::cuda {
namespace {

using testing::bf;
using testing::CudaTest;
using testing::DeviceArray;
using testing::random_bf16;
using testing::random_f32;
using testing::to_bf;

class CudaOpsTest : public CudaTest {};

// bf16 keeps 8 significant bits: a correctly computed value is within one rounding of it.
void expect_bf16_near(float got, double want, double rel, const char* what, size_t i) {
  EXPECT_NEAR(got, want, rel * std::max(1.0, std::fabs(want))) << what << " at " << i;
}

TEST_F(CudaOpsTest, AddRmsNormMatchesReference) {
  for (int hidden : {128, 1024, 4096, 5120}) {
    const int rows = 3;
    auto res_h = random_f32(size_t(rows) * hidden, 1, -2.f, 2.f);
    auto x_h = random_bf16(size_t(rows) * hidden, 2);
    auto w_h = random_bf16(hidden, 3, 0.5f, 1.5f);
    DeviceArray<float> res(res_h);
    DeviceArray<bf16> x(x_h), w(w_h), out(size_t(rows) * hidden);
    out.poison();
    ASSERT_TRUE(
        add_rmsnorm(stream_, res.get(), x.get(), w.get(), out.get(), rows, hidden, 1e-6f).ok());
    sync();
    auto res_d = res.download();
    auto out_d = out.download();
    for (int r = 0; r < rows; ++r) {
      double ss = 0;
      std::vector<float> sum(hidden);
      for (int i = 0; i < hidden; ++i) {
        sum[i] = res_h[r * hidden + i] + bf(x_h[r * hidden + i]);
        ss += double(sum[i]) * sum[i];
        ASSERT_EQ(res_d[r * hidden + i], sum[i]) << "residual row " << r << " col " << i;
      }
      const double inv = 1.0 / std::sqrt(ss / hidden + 1e-6);
      for (int i = 0; i < hidden; ++i)
        expect_bf16_near(bf(out_d[r * hidden + i]), sum[i] * inv * bf(w_h[i]), 8e-3, "norm", i);
    }
  }
}

TEST_F(CudaOpsTest, RmsNormWithoutAddLeavesResidual) {
  const int rows = 2, hidden = 256;
  auto res_h = random_f32(rows * hidden, 4);
  auto w_h = random_bf16(hidden, 5);
  DeviceArray<float> res(res_h);
  DeviceArray<bf16> w(w_h), out(rows * hidden);
  ASSERT_TRUE(
      add_rmsnorm(stream_, res.get(), nullptr, w.get(), out.get(), rows, hidden, 1e-6f).ok());
  sync();
  EXPECT_EQ(res.download(), res_h);
}

TEST_F(CudaOpsTest, AddRmsNormRejectsBadHidden) {
  auto st = add_rmsnorm(stream_, nullptr, nullptr, nullptr, nullptr, 1, 100, 1e-6f);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("100"), std::string::npos);
}

struct RopeCase {
  int head_dim, heads, kv_heads;
};

TEST_F(CudaOpsTest, QkNormRopeKvWriteMatchesReference) {
  for (RopeCase c :
       {RopeCase{128, 4, 2}, RopeCase{64, 6, 2}, RopeCase{32, 4, 2}, RopeCase{16, 4, 2}}) {
    const int D = c.head_dim, H = c.heads, KH = c.kv_heads, T = 5;
    const int width = (H + 2 * KH) * D;
    const double theta = 1e6;
    kv::KvLayout layout{
        .num_layers = 2, .num_kv_heads = KH, .head_dim = D, .block_size = 4, .dtype_bytes = 2};
    const int num_blocks = 4, layer = 1;
    auto qkv_h = random_bf16(size_t(T) * width, 10 + D, -3.f, 3.f);
    std::vector<int32_t> pos_h = {0, 1, 7, 1000, 39999};
    std::vector<int32_t> slot_h = {0, 5, -1, 15, 10};  // token 2 writes nothing
    auto qn_h = random_bf16(D, 11, 0.5f, 1.5f), kn_h = random_bf16(D, 12, 0.5f, 1.5f);
    std::vector<float> freq_h(D / 2);
    rope_inv_freq(theta, D, freq_h.data());
    const size_t pool_elems = layout.block_elems() * num_blocks;
    std::vector<bf16> pool_h(pool_elems, to_bf(-7.f));

    DeviceArray<bf16> qkv(qkv_h), qn(qn_h), kn(kn_h), q_out(size_t(T) * H * D), pool(pool_h);
    DeviceArray<int32_t> pos(pos_h), slot(slot_h);
    DeviceArray<float> freq(freq_h);
    q_out.poison();
    RopeKvArgs a;
    a.qkv = qkv.get();
    a.positions = pos.get();
    a.slot_mapping = slot.get();
    a.q_norm_weight = qn.get();
    a.k_norm_weight = kn.get();
    a.inv_freq = freq.get();
    a.q_out = q_out.get();
    a.kv = paged_kv_for_layer(pool.get(), layout, layer);
    a.num_tokens = T;
    a.num_heads = H;
    a.eps = 1e-6f;
    ASSERT_TRUE(qk_norm_rope_kv_write(stream_, a).ok());
    sync();
    auto q_d = q_out.download();
    auto pool_d = pool.download();
    std::vector<bool> written(pool_elems, false);

    auto reference = [&](int t, int head, const std::vector<bf16>& w, std::vector<double>& out) {
      const bf16* x = &qkv_h[size_t(t) * width + size_t(head) * D];
      double ss = 0;
      for (int i = 0; i < D; ++i) ss += double(bf(x[i])) * bf(x[i]);
      const double inv = 1.0 / std::sqrt(ss / D + 1e-6);
      out.assign(D, 0);
      for (int i = 0; i < D / 2; ++i) {
        const double n1 = bf(x[i]) * inv * bf(w[i]), n2 = bf(x[i + D / 2]) * inv * bf(w[i + D / 2]);
        const double ang = double(float(pos_h[t]) * freq_h[i]);
        out[i] = n1 * std::cos(ang) - n2 * std::sin(ang);
        out[i + D / 2] = n2 * std::cos(ang) + n1 * std::sin(ang);
      }
    };
    std::vector<double> ref;
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < H; ++h) {
        reference(t, h, qn_h, ref);
        for (int i = 0; i < D; ++i)
          expect_bf16_near(bf(q_d[(size_t(t) * H + h) * D + i]), ref[i], 1e-2, "q", i);
      }
      if (slot_h[t] < 0) continue;
      const int block = slot_h[t] / layout.block_size, off = slot_h[t] % layout.block_size;
      for (int kh = 0; kh < KH; ++kh) {
        reference(t, H + kh, kn_h, ref);
        const size_t k_at =
            block * layout.block_elems() + layout.elem_offset(layer, 0, off) + kh * D;
        const size_t v_at =
            block * layout.block_elems() + layout.elem_offset(layer, 1, off) + kh * D;
        for (int i = 0; i < D; ++i) {
          expect_bf16_near(bf(pool_d[k_at + i]), ref[i], 1e-2, "k", i);
          EXPECT_EQ(bf(pool_d[v_at + i]),
                    bf(qkv_h[size_t(t) * width + size_t(H + KH + kh) * D + i]));
          written[k_at + i] = written[v_at + i] = true;
        }
      }
    }
    for (size_t i = 0; i < pool_elems; ++i) {
      if (!written[i]) {
        ASSERT_EQ(bf(pool_d[i]), -7.f) << "pool element " << i << " overwritten";
      }
    }
  }
}

TEST_F(CudaOpsTest, SiluMulMatchesReference) {
  const int T = 3, I = 96;
  auto gu_h = random_bf16(size_t(T) * 2 * I, 20, -6.f, 6.f);
  DeviceArray<bf16> gu(gu_h), out(size_t(T) * I);
  ASSERT_TRUE(silu_mul(stream_, gu.get(), out.get(), T, I).ok());
  sync();
  auto out_d = out.download();
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < I; ++i) {
      const double g = bf(gu_h[t * 2 * I + i]), u = bf(gu_h[t * 2 * I + I + i]);
      expect_bf16_near(bf(out_d[t * I + i]), g / (1 + std::exp(-g)) * u, 8e-3, "silu", i);
    }
}

TEST_F(CudaOpsTest, CopyWordsMovesBetweenPinnedHostAndDeviceMemory) {
  // Lengths around the kernel's block and grid sizes, and one longer than its whole grid.
  for (int64_t n : {int64_t(1), int64_t(255), int64_t(257), int64_t(64 * 256 + 3)}) {
    auto host_in = PinnedBuffer::allocate(size_t(n) * 4, "test input");
    auto host_out = PinnedBuffer::allocate(size_t(n) * 4, "test output");
    ASSERT_TRUE(host_in && host_out);
    auto* in = host_in->get<uint32_t>();
    for (int64_t i = 0; i < n; ++i) in[i] = uint32_t(i * 2654435761u);
    DeviceArray<uint32_t> dev(size_t(n) + 1);
    ASSERT_TRUE(copy_words(stream_, in, dev.get(), n).ok());
    ASSERT_TRUE(copy_words(stream_, dev.get(), host_out->get<uint32_t>(), n).ok());
    sync();
    const auto* out = host_out->get<uint32_t>();
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], in[i]) << "n " << n << " at " << i;
  }
  EXPECT_TRUE(copy_words(stream_, nullptr, nullptr, 0).ok());
}

TEST_F(CudaOpsTest, EmbeddingAndGatherRows) {
  const int V = 50, H = 64;
  auto table_h = random_bf16(size_t(V) * H, 30);
  std::vector<int32_t> ids_h = {3, 49, 0, 3};
  DeviceArray<bf16> table(table_h);
  DeviceArray<int32_t> ids(ids_h);
  DeviceArray<float> res(ids_h.size() * H);
  ASSERT_TRUE(embedding_lookup(stream_, ids.get(), table.get(), res.get(), 4, H, V).ok());
  std::vector<int32_t> rows_h = {2, 0};
  DeviceArray<int32_t> rows(rows_h);
  DeviceArray<bf16> gathered(2 * H);
  ASSERT_TRUE(gather_rows(stream_, table.get(), rows.get(), gathered.get(), 2, H).ok());
  sync();
  auto res_d = res.download();
  auto g_d = gathered.download();
  for (size_t t = 0; t < ids_h.size(); ++t)
    for (int i = 0; i < H; ++i) ASSERT_EQ(res_d[t * H + i], bf(table_h[ids_h[t] * H + i]));
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < H; ++i) ASSERT_EQ(bf(g_d[r * H + i]), bf(table_h[rows_h[r] * H + i]));
}

TEST_F(CudaOpsTest, ArgmaxPicksLowestIndexOfMaximum) {
  const int V = 151936;
  std::vector<float> logits_h = random_f32(size_t(3) * V, 40, -5.f, 5.f);
  logits_h[123] = 9.f;       // row 0: a clear winner
  logits_h[V + 7000] = 9.f;  // row 1: a tie, the lower index wins
  logits_h[V + 150000] = 9.f;
  logits_h[2 * V + V - 1] = 20.f;  // row 2: the last entry
  DeviceArray<float> logits(logits_h);
  DeviceArray<int32_t> ids(3);
  ASSERT_TRUE(argmax_rows(stream_, logits.get(), 3, V, ids.get()).ok());
  sync();
  EXPECT_EQ(ids.download(), (std::vector<int32_t>{123, 7000, V - 1}));
}

TEST_F(CudaOpsTest, ConvertAndFill) {
  const int n = 1000;
  auto f_h = random_f32(n, 50, -100.f, 100.f);
  std::vector<__half> h_h(n);
  for (int i = 0; i < n; ++i) h_h[i] = __float2half(f_h[i]);
  DeviceArray<float> f(f_h);
  DeviceArray<__half> h(h_h);
  DeviceArray<bf16> a(n), b(n), u1(n), u2(n);
  ASSERT_TRUE(convert_to_bf16(stream_, f.get(), SourceType::kF32, a.get(), n).ok());
  ASSERT_TRUE(convert_to_bf16(stream_, h.get(), SourceType::kF16, b.get(), n).ok());
  ASSERT_TRUE(fill_uniform(stream_, u1.get(), n, 7, 0.5f).ok());
  ASSERT_TRUE(fill_uniform(stream_, u2.get(), n, 7, 0.5f).ok());
  sync();
  auto a_d = a.download(), b_d = b.download(), u1_d = u1.download(), u2_d = u2.download();
  double mean = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(bf(a_d[i]), bf(to_bf(f_h[i])));
    ASSERT_EQ(bf(b_d[i]), bf(to_bf(__half2float(h_h[i]))));
    ASSERT_EQ(bf(u1_d[i]), bf(u2_d[i]));
    ASSERT_LE(std::fabs(bf(u1_d[i])), 0.5f);
    mean += bf(u1_d[i]);
  }
  EXPECT_LT(std::fabs(mean / n), 0.05);
  EXPECT_NE(bf(u1_d[0]), bf(u1_d[1]));
}

void reference_gemm(const std::vector<bf16>& x, const std::vector<bf16>& w, int m, int n, int k,
                    std::vector<double>& y) {
  y.assign(size_t(m) * n, 0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int l = 0; l < k; ++l) s += double(bf(x[size_t(i) * k + l])) * bf(w[size_t(j) * k + l]);
      y[size_t(i) * n + j] = s;
    }
}

// Every small-batch policy (scalar, tensor core, cuBLASLt) and both output types, with n not a
// multiple of 16 and k both a multiple of 32 and not (the tensor-core kernel then falls back).
TEST_F(CudaOpsTest, GemmMatchesReferenceOnEveryPath) {
  auto gemm = Gemm::create({});
  ASSERT_TRUE(gemm.has_value()) << gemm.status().to_string();
  for (SmallBatchGemm policy :
       {SmallBatchGemm::kAuto, SmallBatchGemm::kScalarThenTensorCore, SmallBatchGemm::kTensorCore,
        SmallBatchGemm::kScalar, SmallBatchGemm::kCublasLt}) {
    (*gemm)->set_small_batch(policy);
    for (int k : {320, 40}) {
      for (int m : {1, 2, 3, 5, 8, 37}) {
        const int n = 200;
        auto x_h = random_bf16(size_t(m) * k, 60 + m), w_h = random_bf16(size_t(n) * k, 61 + k);
        std::vector<double> ref;
        reference_gemm(x_h, w_h, m, n, k, ref);
        DeviceArray<bf16> x(x_h), w(w_h), y16(size_t(m) * n);
        DeviceArray<float> y32(size_t(m) * n);
        y16.poison();
        y32.poison();
        ASSERT_TRUE(
            (*gemm)->run(stream_, x.get(), w.get(), y16.get(), OutType::kBF16, m, n, k).is_ok());
        ASSERT_TRUE(
            (*gemm)->run(stream_, x.get(), w.get(), y32.get(), OutType::kF32, m, n, k).is_ok());
        sync();
        auto a = y16.download();
        auto b = y32.download();
        for (size_t i = 0; i < ref.size(); ++i) {
          expect_bf16_near(bf(a[i]), ref[i], 1e-2, "bf16 out", i);
          ASSERT_NEAR(b[i], ref[i], 1e-3 * std::max(1.0, std::fabs(ref[i])))
              << small_batch_gemm_name(policy) << " m=" << m << " k=" << k << " i=" << i;
        }
      }
    }
  }
}

// The fused gate/up + SiLU GEMV equals the scalar GEMV to bf16 followed by silu_mul bit for bit,
// whether launched as programmatic dependents or not; k covers the unrolled loop with and without
// a remainder and rows shorter than one unrolled step.
TEST_F(CudaOpsTest, SkinnyGateUpSiluEqualsGemmThenSiluMul) {
  const int inter = 200;
  for (bool dependent : {false, true}) {
    for (int k : {40, 320, 1024, 2056}) {
      for (int m : {1, 3, 8}) {
        auto x_h = random_bf16(size_t(m) * k, 70 + m, -2.f, 2.f);
        auto w_h = random_bf16(size_t(2 * inter) * k, 71 + k, -0.2f, 0.2f);
        DeviceArray<bf16> x(x_h), w(w_h), gate_up(size_t(m) * 2 * inter);
        DeviceArray<bf16> unfused(size_t(m) * inter), fused(size_t(m) * inter);
        unfused.poison();
        fused.poison();
        ASSERT_TRUE(skinny_gemm(stream_, x.get(), w.get(), gate_up.get(), OutType::kBF16, m,
                                2 * inter, k, SkinnyKernel::kScalar, dependent)
                        .ok());
        ASSERT_TRUE(silu_mul(stream_, gate_up.get(), unfused.get(), m, inter, dependent).ok());
        ASSERT_TRUE(
            skinny_gate_up_silu(stream_, x.get(), w.get(), fused.get(), m, inter, k, dependent)
                .ok());
        sync();
        auto a = unfused.download();
        auto b = fused.download();
        auto gu = gate_up.download();
        for (int r = 0; r < m; ++r)
          for (int i = 0; i < inter; ++i) {
            const size_t at = size_t(r) * inter + i;
            ASSERT_EQ(bf(a[at]), bf(b[at]))
                << "m=" << m << " k=" << k << " row " << r << " i " << i;
            // And both are the activation of the products (so neither is garbage).
            const double g = bf(gu[size_t(r) * 2 * inter + i]);
            const double u = bf(gu[size_t(r) * 2 * inter + inter + i]);
            expect_bf16_near(bf(b[at]), g / (1 + std::exp(-g)) * u, 8e-3, "fused silu", at);
          }
      }
    }
  }
  auto st = skinny_gate_up_silu(stream_, nullptr, nullptr, nullptr, 9, inter, 64);
  EXPECT_TRUE(st.invalid_argument);
  st = skinny_gate_up_silu(stream_, nullptr, nullptr, nullptr, 1, inter, 60);
  EXPECT_TRUE(st.invalid_argument);
}

// Gemm routes the fused MLP activation only where the scalar kernel runs.
TEST_F(CudaOpsTest, GemmFusesGateUpSiluOnlyOnTheScalarPath) {
  auto gemm = Gemm::create({.small_batch = SmallBatchGemm::kAuto, .dependent_launch = true});
  ASSERT_TRUE(gemm.has_value()) << gemm.status().to_string();
  EXPECT_TRUE((*gemm)->fused_gate_up_silu(1, 64));
  EXPECT_FALSE((*gemm)->fused_gate_up_silu(2, 64));
  EXPECT_FALSE((*gemm)->fused_gate_up_silu(1, 60));
  EXPECT_FALSE((*gemm)->run_gate_up_silu(stream_, nullptr, nullptr, nullptr, 2, 8, 64).is_ok());
  (*gemm)->set_small_batch(SmallBatchGemm::kScalar);
  EXPECT_TRUE((*gemm)->fused_gate_up_silu(8, 64));
  EXPECT_FALSE((*gemm)->fused_gate_up_silu(9, 64));
  (*gemm)->set_small_batch(SmallBatchGemm::kTensorCore);
  EXPECT_FALSE((*gemm)->fused_gate_up_silu(1, 64));
}

TEST_F(CudaOpsTest, SkinnyGemmRejectsTooManyRows) {
  auto st = skinny_gemm(stream_, nullptr, nullptr, nullptr, OutType::kF32, 9, 4, 8);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.invalid_argument);
}

}  // namespace
}  // namespace kvtier::kernels::cuda
#endif  // KVTIER_HAVE_CUDA
