// Paged attention kernels (prefill with a cached prefix, decode with split-K) against a float64
// CPU reference over the same bf16 inputs, with shuffled block tables.
#ifdef KVTIER_HAVE_CUDA
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "kernels/cuda/attention.h"
#include "kernels/cuda_test_util.h"

namespace kvtier::kernels::cuda {
namespace {

using testing::bf;
using testing::CudaTest;
using testing::DeviceArray;
using testing::random_bf16;

struct Shape {
  int head_dim, heads, kv_heads, block_size;
};

// A pool of random KV, a block table per sequence (random distinct blocks), random queries.
class PagedFixture {
 public:
  PagedFixture(Shape s, const std::vector<int>& contexts, uint32_t seed)
      : shape_(s),
        layout_{.num_layers = 2,
                .num_kv_heads = s.kv_heads,
                .head_dim = s.head_dim,
                .block_size = s.block_size,
                .dtype_bytes = 2} {
    int need = 0;
    for (int c : contexts) need = std::max(need, (c + s.block_size - 1) / s.block_size);
    num_blocks_ = need + 7;
    pool_h_ = random_bf16(layout_.block_elems() * num_blocks_, seed, -1.f, 1.f);
    std::mt19937 rng(seed + 1);
    for (int c : contexts) {
      std::vector<int32_t> perm(num_blocks_);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      perm.resize((c + s.block_size - 1) / s.block_size);
      offsets_.push_back(int32_t(block_ids_.size()));
      block_ids_.insert(block_ids_.end(), perm.begin(), perm.end());
    }
    for (size_t i = 0; i < contexts.size(); ++i) densify(i, contexts[i]);
    if (block_ids_.empty()) block_ids_.push_back(0);
  }

  // Dense copies of one sequence's K and V ([position][kv_head][d], fp32) read through the block
  // table, so the reference does not redo the paging arithmetic per element.
  void densify(size_t seq, int context) {
    const int D = shape_.head_dim, KH = shape_.kv_heads;
    std::vector<float> k(size_t(context) * KH * D), v(k.size());
    for (int p = 0; p < context; ++p) {
      const int block = block_ids_[offsets_[seq] + p / shape_.block_size];
      for (int kv = 0; kv < 2; ++kv) {
        const size_t at = size_t(block) * layout_.block_elems() +
                          layout_.elem_offset(kLayer, kv, p % shape_.block_size);
        for (int i = 0; i < KH * D; ++i) (kv ? v : k)[size_t(p) * KH * D + i] = bf(pool_h_[at + i]);
      }
    }
    dense_k_.push_back(std::move(k));
    dense_v_.push_back(std::move(v));
  }

  // out[d] for query vector q (head `head`) attending positions [0, n_keys) of `seq`.
  std::vector<double> reference(const bf16* q, int seq, int head, int n_keys) const {
    const int D = shape_.head_dim, KH = shape_.kv_heads;
    const int kv_head = head / (shape_.heads / KH);
    const double scale = 1.0 / std::sqrt(double(D));
    std::vector<double> qd(D), s(n_keys), out(D, 0.0);
    for (int d = 0; d < D; ++d) qd[d] = bf(q[d]);
    double mx = -1e300;
    for (int p = 0; p < n_keys; ++p) {
      const float* k = &dense_k_[seq][(size_t(p) * KH + kv_head) * D];
      double dot = 0;
      for (int d = 0; d < D; ++d) dot += qd[d] * k[d];
      s[p] = dot * scale;
      mx = std::max(mx, s[p]);
    }
    double sum = 0;
    for (int p = 0; p < n_keys; ++p) sum += (s[p] = std::exp(s[p] - mx));
    for (int p = 0; p < n_keys; ++p) {
      const float* v = &dense_v_[seq][(size_t(p) * KH + kv_head) * D];
      for (int d = 0; d < D; ++d) out[d] += s[p] / sum * v[d];
    }
    return out;
  }

  static constexpr int kLayer = 1;
  Shape shape_;
  kv::KvLayout layout_;
  int num_blocks_ = 0;
  std::vector<bf16> pool_h_;
  std::vector<int32_t> block_ids_, offsets_;
  std::vector<std::vector<float>> dense_k_, dense_v_;
};

class CudaAttentionTest : public CudaTest, public ::testing::WithParamInterface<Shape> {};

TEST_P(CudaAttentionTest, PrefillWithCachedPrefixMatchesReference) {
  const Shape s = GetParam();
  // (q_len, context): whole prompts, chunks over a cached prefix, tiles partly filled.
  const std::vector<std::pair<int, int>> seqs = {{5, 5},   {130, 130}, {37, 300}, {200, 1000},
                                                 {64, 64}, {1, 17},    {129, 140}};
  std::vector<int> contexts;
  for (auto [q, c] : seqs) contexts.push_back(c);
  PagedFixture f(s, contexts, 100 + s.head_dim);
  int tokens = 0;
  std::vector<int32_t> q_off, q_len, ctx;
  std::vector<int2> tiles;
  for (size_t i = 0; i < seqs.size(); ++i) {
    q_off.push_back(tokens);
    q_len.push_back(seqs[i].first);
    ctx.push_back(seqs[i].second);
    for (int r = 0; r < seqs[i].first; r += kPrefillTileRows) tiles.push_back({int(i), r});
    tokens += seqs[i].first;
  }
  std::reverse(tiles.begin(), tiles.end());  // any tile order must work
  const size_t q_elems = size_t(tokens) * s.heads * s.head_dim;
  auto q_h = random_bf16(q_elems, 7, -3.f, 3.f);

  DeviceArray<bf16> pool(f.pool_h_), q(q_h), out(q_elems);
  DeviceArray<int32_t> d_off(q_off), d_len(q_len), d_ctx(ctx), d_bto(f.offsets_),
      d_ids(f.block_ids_);
  DeviceArray<int2> d_tiles(tiles);
  AttentionArgs a;
  a.q = q.get();
  a.out = out.get();
  a.kv = paged_kv_for_layer(pool.get(), f.layout_, PagedFixture::kLayer);
  a.num_heads = s.heads;
  a.scale = 1.f / std::sqrt(float(s.head_dim));
  PrefillAttentionMeta m;
  m.q_offset = d_off.get();
  m.q_len = d_len.get();
  m.context_len = d_ctx.get();
  m.block_table_offset = d_bto.get();
  m.block_ids = d_ids.get();
  m.tiles = d_tiles.get();
  m.num_tiles = int(tiles.size());
  for (PrefillKernel kernel :
       {PrefillKernel::kRows16Keys64, PrefillKernel::kRows32Keys64, PrefillKernel::kRows32Keys32,
        PrefillKernel::kRows32Keys32Stages3, PrefillKernel::kRows32Keys32Stages4}) {
    SCOPED_TRACE(prefill_kernel_name(kernel));
    out.poison(0xff);  // NaN
    auto st = prefill_attention(stream_, a, m, kernel);
    ASSERT_TRUE(st.ok()) << st.message;
    sync();
    auto out_d = out.download();
    double max_err = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      for (int r = 0; r < q_len[i]; ++r) {
        const int pos = ctx[i] - q_len[i] + r;
        for (int h = 0; h < s.heads; ++h) {
          const size_t at = (size_t(q_off[i] + r) * s.heads + h) * s.head_dim;
          auto ref = f.reference(&q_h[at], int(i), h, pos + 1);
          for (int d = 0; d < s.head_dim; ++d) {
            const double err = std::fabs(bf(out_d[at + d]) - ref[d]);
            max_err = std::max(max_err, err);
            ASSERT_LT(err, 1.5e-2) << "seq " << i << " row " << r << " head " << h << " dim " << d
                                   << " got " << bf(out_d[at + d]) << " want " << ref[d];
          }
        }
      }
    }
    RecordProperty(std::string("max_abs_error_") + prefill_kernel_name(kernel),
                   std::to_string(max_err));
  }
}

TEST_P(CudaAttentionTest, DecodeMatchesReferenceForEverySplitCount) {
  const Shape s = GetParam();
  const std::vector<int> contexts = {1, 15, 16, 17, 100, 1000, 2500, 0};  // 0: padding
  PagedFixture f(s, contexts, 200 + s.head_dim);
  const int n = int(contexts.size());
  // Rows of q are not in sequence order: decode rows sit among prefill rows in a mixed batch.
  std::vector<int32_t> rows(n);
  for (int i = 0; i < n; ++i) rows[i] = (i * 3 + 1) % (n + 2);
  const int total_rows = n + 2;
  const size_t q_elems = size_t(total_rows) * s.heads * s.head_dim;
  auto q_h = random_bf16(q_elems, 9, -3.f, 3.f);
  DeviceArray<bf16> pool(f.pool_h_), q(q_h), out(q_elems);
  DeviceArray<int32_t> d_rows(rows), d_ctx(contexts), d_bto(f.offsets_), d_ids(f.block_ids_);
  AttentionArgs a;
  a.q = q.get();
  a.out = out.get();
  a.kv = paged_kv_for_layer(pool.get(), f.layout_, PagedFixture::kLayer);
  a.num_heads = s.heads;
  a.scale = 1.f / std::sqrt(float(s.head_dim));
  DecodeAttentionMeta m;
  m.token_row = d_rows.get();
  m.context_len = d_ctx.get();
  m.block_table_offset = d_bto.get();
  m.block_ids = d_ids.get();
  m.num_seqs = n;

  std::vector<std::vector<double>> refs;
  for (int i = 0; i < n; ++i)
    for (int h = 0; h < s.heads; ++h) {
      const size_t at = (size_t(rows[i]) * s.heads + h) * s.head_dim;
      refs.push_back(contexts[i] > 0 ? f.reference(&q_h[at], i, h, contexts[i])
                                     : std::vector<double>(s.head_dim, 0.0));
    }
  for (int splits : {1, 3, 32}) {
    m.num_splits = splits;
    const size_t ws_bytes = decode_workspace_bytes(n, s.heads, s.head_dim, splits);
    DeviceArray<uint8_t> ws(ws_bytes);
    out.poison(0xff);
    auto st = decode_attention(stream_, a, m, ws_bytes ? ws.get() : nullptr, ws_bytes);
    ASSERT_TRUE(st.ok()) << st.message;
    sync();
    auto out_d = out.download();
    for (int i = 0; i < n; ++i)
      for (int h = 0; h < s.heads; ++h) {
        const size_t at = (size_t(rows[i]) * s.heads + h) * s.head_dim;
        const auto& ref = refs[size_t(i) * s.heads + h];
        for (int d = 0; d < s.head_dim; ++d)
          ASSERT_LT(std::fabs(bf(out_d[at + d]) - ref[d]), 1e-2)
              << "splits " << splits << " seq " << i << " (context " << contexts[i] << ") head "
              << h << " dim " << d << " got " << bf(out_d[at + d]) << " want " << ref[d];
      }
  }
}

TEST_P(CudaAttentionTest, DecodeRejectsSmallWorkspace) {
  const Shape s = GetParam();
  AttentionArgs a;
  a.num_heads = s.heads;
  a.kv.num_kv_heads = s.kv_heads;
  a.kv.head_dim = s.head_dim;
  DecodeAttentionMeta m;
  m.num_seqs = 4;
  m.num_splits = 8;
  auto st = decode_attention(stream_, a, m, nullptr, 16);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("workspace"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaAttentionTest,
                         ::testing::Values(Shape{128, 4, 2, 16},  // Qwen3-0.6B grouping
                                           Shape{128, 8, 2, 16},  // Qwen3-8B grouping (4)
                                           Shape{64, 10, 2, 32},  // 5 per kv head, 32-token blocks
                                           Shape{64, 2, 2, 16},   // no grouping
                                           Shape{32, 4, 2, 16},   // the reference fixtures
                                           Shape{16, 4, 2, 16}),
                         [](const auto& info) {
                           const Shape& s = info.param;
                           return fmt::format("d{}_h{}_kv{}_b{}", s.head_dim, s.heads, s.kv_heads,
                                              s.block_size);
                         });

// Short chunks over long cached contexts with the keys split over several thread blocks: every
// split count gives the one-pass kernel's result up to fp32 accumulation order (plus bf16
// rounding of the output), and matches the float64 reference on the first and last rows.
class CudaPrefillSplitTest : public CudaTest, public ::testing::WithParamInterface<Shape> {};

TEST_P(CudaPrefillSplitTest, SplitKeysMatchOnePass) {
  const Shape s = GetParam();
  // (q_len, context) in one mixed batch: chunks of 1..64 tokens after up to ~10k cached tokens, a
  // whole short prompt, and a chunk of two tiles.
  const std::vector<std::pair<int, int>> seqs = {{32, 10032}, {1, 700},   {64, 4096}, {7, 2000},
                                                 {17, 17},    {33, 9000}, {200, 1200}};
  std::vector<int> contexts;
  for (auto [q, c] : seqs) contexts.push_back(c);
  PagedFixture f(s, contexts, 300 + s.head_dim);
  int tokens = 0;
  std::vector<int32_t> q_off, q_len, ctx;
  std::vector<int2> tiles;
  for (size_t i = 0; i < seqs.size(); ++i) {
    q_off.push_back(tokens);
    q_len.push_back(seqs[i].first);
    ctx.push_back(seqs[i].second);
    for (int r = 0; r < seqs[i].first; r += kPrefillTileRows) tiles.push_back({int(i), r});
    tokens += seqs[i].first;
  }
  const size_t q_elems = size_t(tokens) * s.heads * s.head_dim;
  auto q_h = random_bf16(q_elems, 11, -3.f, 3.f);
  DeviceArray<bf16> pool(f.pool_h_), q(q_h), out(q_elems);
  DeviceArray<int32_t> d_off(q_off), d_len(q_len), d_ctx(ctx), d_bto(f.offsets_),
      d_ids(f.block_ids_);
  DeviceArray<int2> d_tiles(tiles);
  AttentionArgs a;
  a.q = q.get();
  a.out = out.get();
  a.kv = paged_kv_for_layer(pool.get(), f.layout_, PagedFixture::kLayer);
  a.num_heads = s.heads;
  a.scale = 1.f / std::sqrt(float(s.head_dim));
  PrefillAttentionMeta m;
  m.q_offset = d_off.get();
  m.q_len = d_len.get();
  m.context_len = d_ctx.get();
  m.block_table_offset = d_bto.get();
  m.block_ids = d_ids.get();
  m.tiles = d_tiles.get();
  m.num_tiles = int(tiles.size());

  DeviceArray<uint8_t> ws(prefill_workspace_bytes(m.num_tiles, s.heads, s.head_dim,
                                                  kPrefillMaxSplits));
  auto run = [&](PrefillKernel kernel, int splits) {
    m.num_splits = splits;
    out.poison(0xff);  // NaN
    auto st = prefill_attention(stream_, a, m, kernel, ws.get(), ws.size());
    EXPECT_TRUE(st.ok()) << st.message;
    sync();
    return out.download();
  };
  // Two buffers with 64-key tiles, and the default three-buffer 32-key shape.
  for (PrefillKernel kernel : {PrefillKernel::kRows16Keys64, PrefillKernel::kRows32Keys32Stages3}) {
    SCOPED_TRACE(prefill_kernel_name(kernel));
    const auto one_pass = run(kernel, 1);
    for (int splits : {2, 5, 13, kPrefillMaxSplits}) {
      const auto split = run(kernel, splits);
      for (size_t i = 0; i < seqs.size(); ++i)
        for (int r = 0; r < q_len[i]; ++r)
          for (int h = 0; h < s.heads; ++h) {
            const size_t at = (size_t(q_off[i] + r) * s.heads + h) * s.head_dim;
            for (int d = 0; d < s.head_dim; ++d) {
              const double want = bf(one_pass[at + d]), got = bf(split[at + d]);
              // Two roundings to bf16 (8 significant bits) of values within fp32 noise.
              ASSERT_LE(std::fabs(got - want), 1e-3 + std::fabs(want) * (1.0 / 64))
                  << "splits " << splits << " seq " << i << " row " << r << " head " << h
                  << " dim " << d << " got " << got << " one pass " << want;
            }
          }
      for (size_t i = 0; i < seqs.size(); ++i)
        for (int r : {0, q_len[i] - 1})
          for (int h = 0; h < s.heads; ++h) {
            const size_t at = (size_t(q_off[i] + r) * s.heads + h) * s.head_dim;
            const auto ref = f.reference(&q_h[at], int(i), h, ctx[i] - q_len[i] + r + 1);
            for (int d = 0; d < s.head_dim; ++d)
              ASSERT_LT(std::fabs(bf(split[at + d]) - ref[d]), 1.5e-2)
                  << "splits " << splits << " seq " << i << " row " << r << " head " << h
                  << " dim " << d;
          }
    }
  }
}

TEST_P(CudaPrefillSplitTest, RejectsSmallWorkspaceAndTooManySplits) {
  const Shape s = GetParam();
  AttentionArgs a;
  a.num_heads = s.heads;
  a.kv.num_kv_heads = s.kv_heads;
  a.kv.head_dim = s.head_dim;
  PrefillAttentionMeta m;
  m.num_tiles = 3;
  m.num_splits = 4;
  auto st = prefill_attention(stream_, a, m, PrefillKernel::kRows32Keys32Stages3, nullptr,
                              prefill_workspace_bytes(3, s.heads, s.head_dim, 4) - 1);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("workspace"), std::string::npos);
  m.num_splits = kPrefillMaxSplits + 1;
  st = prefill_attention(stream_, a, m);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("splits"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaPrefillSplitTest,
                         ::testing::Values(Shape{128, 4, 2, 16},  // Qwen3-0.6B grouping (2)
                                           Shape{128, 8, 2, 16},  // Qwen3-8B grouping (4)
                                           Shape{64, 10, 2, 32}),
                         [](const auto& info) {
                           const Shape& s = info.param;
                           return fmt::format("d{}_h{}_kv{}_b{}", s.head_dim, s.heads, s.kv_heads,
                                              s.block_size);
                         });

TEST(CudaAttentionSplits, PrefillSplitsOnlyWhenTheGridIsShort) {
  // Qwen3-0.6B / 8B: a 32-token chunk over 10k cached tokens (one tile of 16 / 32 heads).
  EXPECT_EQ(prefill_num_splits(1, 16, 10032, 132), 17);
  EXPECT_EQ(prefill_num_splits(1, 32, 10032, 132), 9);
  // Long prompts already fill the device: one pass.
  EXPECT_EQ(prefill_num_splits(16, 16, 2048, 132), 1);
  EXPECT_EQ(prefill_num_splits(5, 32, 640, 132), 1);
  // Short contexts get at most one split per kPrefillMinSplitKeys keys.
  EXPECT_EQ(prefill_num_splits(1, 16, 100, 132), 1);
  EXPECT_EQ(prefill_num_splits(1, 16, 3 * kPrefillMinSplitKeys, 132), 3);
  EXPECT_EQ(prefill_num_splits(1, 1, 1 << 20, 132), kPrefillMaxSplits);
  // Whatever is picked fits the runner's workspace.
  for (int tiles : {1, 2, 3, 7, 8, 9, 40})
    for (int heads : {1, 2, 14, 16, 32, 64}) {
      const int splits = prefill_num_splits(tiles, heads, 1 << 20, 132);
      EXPECT_LE(prefill_workspace_bytes(tiles, heads, 128, splits),
                prefill_max_workspace_bytes(132, 128))
          << tiles << " tiles, " << heads << " heads, " << splits << " splits";
    }
}

TEST(CudaAttentionSplits, TwoWavesOfBlocksCappedAt32) {
  EXPECT_EQ(decode_num_splits(1, 8, 132), 32);
  EXPECT_EQ(decode_num_splits(8, 8, 132), 5);
  EXPECT_EQ(decode_num_splits(64, 8, 132), 1);
  EXPECT_EQ(decode_num_splits(0, 8, 132), 32);
}

}  // namespace
}  // namespace kvtier::kernels::cuda
#endif  // KVTIER_HAVE_CUDA
