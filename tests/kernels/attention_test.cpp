// Paged attention against a naive causal attention over contiguous K/V, with block tables in
// scrambled order, several sequences per call, chunked prefill over a cached prefix and decode.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace kvtier::kernels::cpu {
namespace {

struct Problem {
  kv::KvLayout layout{2, 2, 16, 4, 4};  // 2 layers, 2 kv heads, head_dim 16, 4-token blocks
  int num_heads = 6;                    // 3 query heads per kv head
  int32_t num_blocks = 96;
  std::vector<int32_t> lengths;
  std::vector<std::vector<float>> q, k, v;  // per sequence: [len][heads*d], [len][kv*d]
  std::vector<std::vector<int32_t>> tables;
  std::vector<float> pool;

  explicit Problem(std::vector<int32_t> lens, uint32_t seed = 1) : lengths(std::move(lens)) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const int d = layout.head_dim;
    // Blocks handed out in a scrambled order so tables are neither contiguous nor increasing.
    std::vector<int32_t> free(num_blocks);
    std::iota(free.begin(), free.end(), 0);
    std::shuffle(free.begin(), free.end(), rng);
    size_t next = 0;
    for (int32_t len : lengths) {
      q.emplace_back(size_t(len) * num_heads * d);
      k.emplace_back(size_t(len) * layout.num_kv_heads * d);
      v.emplace_back(size_t(len) * layout.num_kv_heads * d);
      for (auto* vec : {&q.back(), &k.back(), &v.back()})
        for (auto& x : *vec) x = dist(rng) * 1.5f;
      std::vector<int32_t> table;
      for (int32_t b = 0; b < (len + layout.block_size - 1) / layout.block_size; ++b)
        table.push_back(free[next++]);
      tables.push_back(table);
    }
    pool.assign(size_t(num_blocks) * layout.block_elems(), 0.0f);
  }

  // Naive causal attention output of sequence s, query token i, head h.
  std::vector<double> reference(int s, int i, int h, float scale) const {
    const int d = layout.head_dim, kvh = h / (num_heads / layout.num_kv_heads);
    const int kv_stride = layout.num_kv_heads * d;
    std::vector<double> scores(i + 1);
    double max_s = -1e300;
    for (int j = 0; j <= i; ++j) {
      double dot = 0;
      for (int t = 0; t < d; ++t)
        dot += double(q[s][size_t(i) * num_heads * d + h * d + t]) *
               k[s][size_t(j) * kv_stride + kvh * d + t];
      scores[j] = dot * scale;
      max_s = std::max(max_s, scores[j]);
    }
    double sum = 0;
    for (auto& x : scores) sum += (x = std::exp(x - max_s));
    std::vector<double> out(d, 0.0);
    for (int j = 0; j <= i; ++j)
      for (int t = 0; t < d; ++t)
        out[t] += scores[j] / sum * v[s][size_t(j) * kv_stride + kvh * d + t];
    return out;
  }

  // Runs tokens [begin[s], end[s]) of each sequence in one call on `layer`; returns out rows.
  std::vector<float> run(ThreadPool& pool_threads, const std::vector<int32_t>& begin,
                         const std::vector<int32_t>& end, int32_t layer, float scale) {
    const int d = layout.head_dim;
    const int q_w = num_heads * d, kv_w = layout.num_kv_heads * d;
    std::vector<float> qb, kb, vb;
    std::vector<AttentionSeq> seqs;
    for (size_t s = 0; s < lengths.size(); ++s) {
      if (end[s] <= begin[s]) continue;
      seqs.push_back({int64_t(qb.size() / q_w), end[s] - begin[s], begin[s], tables[s].data()});
      qb.insert(qb.end(), q[s].begin() + size_t(begin[s]) * q_w,
                q[s].begin() + size_t(end[s]) * q_w);
      kb.insert(kb.end(), k[s].begin() + size_t(begin[s]) * kv_w,
                k[s].begin() + size_t(end[s]) * kv_w);
      vb.insert(vb.end(), v[s].begin() + size_t(begin[s]) * kv_w,
                v[s].begin() + size_t(end[s]) * kv_w);
    }
    // K and V interleaved in one buffer, as the model's fused qkv rows are.
    const int64_t rows = int64_t(kb.size() / kv_w);
    std::vector<float> kv(size_t(rows) * 2 * kv_w);
    for (int64_t r = 0; r < rows; ++r) {
      std::copy_n(kb.begin() + r * kv_w, kv_w, kv.begin() + r * 2 * kv_w);
      std::copy_n(vb.begin() + r * kv_w, kv_w, kv.begin() + r * 2 * kv_w + kv_w);
    }
    write_kv(pool_threads, kv.data(), kv.data() + kv_w, 2 * kv_w, seqs, pool.data(), layout, layer);
    std::vector<float> out(size_t(rows) * q_w + 8, -5.0f);
    paged_attention(pool_threads, qb.data(), q_w, out.data(), q_w, seqs, pool.data(), layout, layer,
                    num_heads, scale);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(out[size_t(rows) * q_w + i], -5.0f);  // no overrun
    return out;
  }

  void expect_rows(const std::vector<float>& out, const std::vector<int32_t>& begin,
                   const std::vector<int32_t>& end, float scale) const {
    const int d = layout.head_dim, q_w = num_heads * d;
    size_t row = 0;
    for (size_t s = 0; s < lengths.size(); ++s)
      for (int i = begin[s]; i < end[s]; ++i, ++row)
        for (int h = 0; h < num_heads; ++h) {
          auto ref = reference(int(s), i, h, scale);
          for (int t = 0; t < d; ++t)
            ASSERT_NEAR(out[row * q_w + h * d + t], ref[t], 2e-5)
                << "seq " << s << " token " << i << " head " << h << " dim " << t;
        }
  }
};

TEST(PagedAttention, PrefillOfSeveralSequencesMatchesNaive) {
  Problem p({1, 5, 13, 37, 150});
  ThreadPool threads(2);
  const float scale = 0.25f;
  std::vector<int32_t> begin(5, 0), end = p.lengths;
  auto out = p.run(threads, begin, end, 1, scale);
  p.expect_rows(out, begin, end, scale);
}

TEST(PagedAttention, ChunkedPrefillOverCachedPrefixMatchesNaive) {
  Problem p({9, 40, 131}, 7);
  ThreadPool threads(3);
  const float scale = 0.3f;
  // Chunk boundaries inside and at the edge of blocks; the later chunks read what earlier
  // calls cached.
  std::vector<std::vector<int32_t>> cuts = {{0, 3, 8, 9}, {0, 16, 17, 40}, {0, 1, 64, 130, 131}};
  for (size_t step = 0; step < 4; ++step) {
    std::vector<int32_t> begin, end;
    for (const auto& c : cuts) {
      begin.push_back(c[std::min(step, c.size() - 1)]);
      end.push_back(c[std::min(step + 1, c.size() - 1)]);
    }
    auto out = p.run(threads, begin, end, 0, scale);
    p.expect_rows(out, begin, end, scale);
  }
}

TEST(PagedAttention, DecodeStepsMatchNaive) {
  Problem p({20, 33}, 11);
  ThreadPool threads(2);
  const float scale = 0.25f;
  std::vector<int32_t> begin = {0, 0}, end = {17, 30};
  p.run(threads, begin, end, 1, scale);
  for (int step = 0; step < 3; ++step) {
    begin = end;
    for (auto& e : end) ++e;
    auto out = p.run(threads, begin, end, 1, scale);
    p.expect_rows(out, begin, end, scale);
  }
}

TEST(WriteKv, StoresEachTokenInItsBlockMajorSlot) {
  Problem p({6, 9}, 3);
  ThreadPool threads(1);
  std::vector<int32_t> begin = {0, 0};
  p.run(threads, begin, p.lengths, 1, 0.1f);
  const auto& L = p.layout;
  const int kv_w = L.num_kv_heads * L.head_dim;
  for (size_t s = 0; s < p.lengths.size(); ++s)
    for (int t = 0; t < p.lengths[s]; ++t) {
      const float* block = p.pool.data() + size_t(p.tables[s][t / L.block_size]) * L.block_elems();
      for (int e = 0; e < kv_w; ++e) {
        ASSERT_EQ(block[L.elem_offset(1, 0, t % L.block_size) + e], p.k[s][size_t(t) * kv_w + e]);
        ASSERT_EQ(block[L.elem_offset(1, 1, t % L.block_size) + e], p.v[s][size_t(t) * kv_w + e]);
        ASSERT_EQ(block[L.elem_offset(0, 0, t % L.block_size) + e], 0.0f);  // layer 0 untouched
      }
    }
}

}  // namespace
}  // namespace kvtier::kernels::cpu
