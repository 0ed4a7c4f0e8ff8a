#include "kernels/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/gemm.h"

namespace kvtier::kernels::cpu {
namespace {

// Queries handled together: their keys are gathered once and their scores are one sgemm.
constexpr int32_t kQueryTile = 64;

struct WorkItem {
  int32_t seq;
  int32_t kv_head;
  int32_t tile_begin;  // token index inside the sequence's chunk
};

// Copies keys (kv = 0) or values (kv = 1) of positions [0, count) for one kv head into dst,
// head_dim floats per position, following the block table.
void gather(const float* kv_base, const kv::KvLayout& layout, int32_t layer, int32_t kv,
            int32_t kv_head, const int32_t* block_table, int32_t count, float* dst) {
  const size_t block_elems = layout.block_elems();
  const int32_t bs = layout.block_size;
  const int32_t d = layout.head_dim;
  for (int32_t pos = 0; pos < count; pos += bs) {
    const float* block = kv_base + size_t(block_table[pos / bs]) * block_elems;
    const float* plane = block + layout.elem_offset(layer, kv, 0) + size_t(kv_head) * d;
    const int32_t n = std::min(bs, count - pos);
    for (int32_t t = 0; t < n; ++t)
      std::memcpy(dst + size_t(pos + t) * d, plane + size_t(t) * layout.token_elems(),
                  sizeof(float) * d);
  }
}

// Row-wise causal softmax in place: row i may see keys [0, visible0 + i].
void causal_softmax(float* scores, int32_t rows, int32_t cols, int32_t visible0) {
  for (int32_t i = 0; i < rows; ++i) {
    float* s = scores + size_t(i) * cols;
    const int32_t visible = std::min(cols, visible0 + i + 1);
    float max_v = -std::numeric_limits<float>::infinity();
    for (int32_t j = 0; j < visible; ++j) max_v = std::max(max_v, s[j]);
    float sum = 0.0f;
    for (int32_t j = 0; j < visible; ++j) {
      s[j] = std::exp(s[j] - max_v);
      sum += s[j];
    }
    const float inv = 1.0f / sum;
    for (int32_t j = 0; j < visible; ++j) s[j] *= inv;
    std::fill(s + visible, s + cols, 0.0f);
  }
}

}  // namespace

void write_kv(ThreadPool& pool, const float* k, const float* v, int64_t stride,
              std::span<const AttentionSeq> seqs, float* kv_base, const kv::KvLayout& layout,
              int32_t layer) {
  const size_t token_bytes = layout.token_elems() * sizeof(float);
  for (const auto& seq : seqs) {
    for (int32_t i = 0; i < seq.num_tokens; ++i) {
      const int32_t pos = seq.start_pos + i;
      float* block =
          kv_base + size_t(seq.block_table[pos / layout.block_size]) * layout.block_elems();
      const int32_t slot = pos % layout.block_size;
      const int64_t row = seq.row + i;
      std::memcpy(block + layout.elem_offset(layer, 0, slot), k + row * stride, token_bytes);
      std::memcpy(block + layout.elem_offset(layer, 1, slot), v + row * stride, token_bytes);
    }
  }
}

void paged_attention(ThreadPool& pool, const float* q, int64_t q_stride, float* out,
                     int64_t out_stride, std::span<const AttentionSeq> seqs, const float* kv_base,
                     const kv::KvLayout& layout, int32_t layer, int num_heads, float scale) {
  use_single_threaded_blas();
  const int32_t d = layout.head_dim;
  const int32_t group = num_heads / layout.num_kv_heads;
  std::vector<WorkItem> items;
  for (int32_t s = 0; s < int32_t(seqs.size()); ++s)
    for (int32_t h = 0; h < layout.num_kv_heads; ++h)
      for (int32_t t = 0; t < seqs[s].num_tokens; t += kQueryTile) items.push_back({s, h, t});

  pool.parallel_for(int64_t(items.size()), [&](int64_t begin, int64_t end, int) {
    // Scratch reused across calls on the same thread.
    thread_local std::vector<float> keys, values, scores;
    for (int64_t w = begin; w < end; ++w) {
      const WorkItem& item = items[w];
      const AttentionSeq& seq = seqs[item.seq];
      const int32_t rows = std::min(kQueryTile, seq.num_tokens - item.tile_begin);
      const int32_t first_pos = seq.start_pos + item.tile_begin;
      const int32_t ctx = first_pos + rows;  // keys visible to the tile's last query
      keys.resize(size_t(ctx) * d);
      values.resize(size_t(ctx) * d);
      scores.resize(size_t(rows) * ctx);
      gather(kv_base, layout, layer, 0, item.kv_head, seq.block_table, ctx, keys.data());
      gather(kv_base, layout, layer, 1, item.kv_head, seq.block_table, ctx, values.data());
      for (int32_t g = 0; g < group; ++g) {
        const int32_t head = item.kv_head * group + g;
        const float* q_tile = q + (seq.row + item.tile_begin) * q_stride + int64_t(head) * d;
        float* o_tile = out + (seq.row + item.tile_begin) * out_stride + int64_t(head) * d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, ctx, d, scale, q_tile,
                    int(q_stride), keys.data(), d, 0.0f, scores.data(), ctx);
        causal_softmax(scores.data(), rows, ctx, first_pos);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, ctx, 1.0f, scores.data(),
                    ctx, values.data(), d, 0.0f, o_tile, int(out_stride));
      }
    }
  });
}

}  // namespace kvtier::kernels::cpu
