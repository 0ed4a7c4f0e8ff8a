// Cascade (shared-prefix) decode attention against the plain decode kernel on the same inputs:
// groups of decode sequences whose block tables start with the same blocks, with members whose
// own keys end inside a block, prefixes that are not multiples of the chunk or key-tile length,
// several groups and ungrouped sequences (and padding) in one batch, more or fewer prefix work
// slots than work items, and the GQA ratios of real models.
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

// A group as the kernel sees it: decode indices, shared keys (whole blocks), chunk length.
struct TestGroup {
  std::vector<int> members;
  int shared_blocks = 0;
  int chunk_len = kCascadeKeyTile;
  std::vector<int> sharers;  // start with the same blocks but are left out of the group
};

// Decode sequences over a random KV pool: each group's members start with the same shared
// blocks, every sequence then has blocks of its own; q rows are scattered.
class CascadeFixture {
 public:
  CascadeFixture(Shape s, const std::vector<int>& contexts, const std::vector<TestGroup>& groups,
                 uint32_t seed)
      : shape_(s),
        layout_{.num_layers = 1,
                .num_kv_heads = s.kv_heads,
                .head_dim = s.head_dim,
                .block_size = s.block_size,
                .dtype_bytes = 2},
        contexts_(contexts),
        groups_(groups) {
    const int n = int(contexts.size());
    int need = 5;
    for (int c : contexts) need += (c + s.block_size - 1) / s.block_size;
    for (const TestGroup& g : groups)
      need -= g.shared_blocks * int(g.members.size() + g.sharers.size() - 1);
    num_blocks_ = need;
    std::mt19937 rng(seed);
    std::vector<int32_t> free(num_blocks_);
    std::iota(free.begin(), free.end(), 0);
    std::shuffle(free.begin(), free.end(), rng);
    std::vector<std::vector<int32_t>> tables(n);
    for (const TestGroup& g : groups)
      for (int b = 0; b < g.shared_blocks; ++b) {
        const int32_t id = free.back();
        free.pop_back();
        for (int m : g.members) tables[m].push_back(id);
        for (int m : g.sharers) tables[m].push_back(id);
      }
    for (int i = 0; i < n; ++i) {
      while (int(tables[i].size()) < (contexts[i] + s.block_size - 1) / s.block_size) {
        tables[i].push_back(free.back());
        free.pop_back();
      }
      offsets_.push_back(int32_t(block_ids_.size()));
      block_ids_.insert(block_ids_.end(), tables[i].begin(), tables[i].end());
    }
    if (block_ids_.empty()) block_ids_.push_back(0);
    pool_h_ = random_bf16(layout_.block_elems() * num_blocks_, seed + 1, -1.f, 1.f);
    // Distinct q rows in no particular order (decode rows sit among prefill rows).
    rows_.resize(n + 3);
    std::iota(rows_.begin(), rows_.end(), 0);
    std::shuffle(rows_.begin(), rows_.end(), rng);
    rows_.resize(n);
    q_h_ = random_bf16(size_t(n + 3) * s.heads * s.head_dim, seed + 2, -3.f, 3.f);
    build_cascade_meta();
  }

  // The packed cascade metadata for groups_ (what the runner's plan writes).
  void build_cascade_meta() {
    const int n = int(contexts_.size()), G = shape_.heads / shape_.kv_heads;
    const int ng = int(groups_.size());
    header_ = {ng, 0};
    member_begin_.assign(1, 0);
    work_begin_.assign(1, 0);
    shared_len_.clear();
    chunk_len_.clear();
    part_begin_.clear();
    members_.clear();
    seq_group_.assign(n, -1);
    seq_local_.assign(n, 0);
    seq_start_.assign(n, 0);
    int parts = 0;
    for (int gi = 0; gi < ng; ++gi) {
      const TestGroup& g = groups_[gi];
      const int members = int(g.members.size());
      const int shared = g.shared_blocks * shape_.block_size;
      const int chunks = (shared + g.chunk_len - 1) / g.chunk_len;
      const int tiles = (members * G + kCascadeRowTile - 1) / kCascadeRowTile;
      shared_len_.push_back(shared);
      chunk_len_.push_back(g.chunk_len);
      part_begin_.push_back(parts);
      for (int i = 0; i < members; ++i) {
        members_.push_back(g.members[i]);
        seq_group_[g.members[i]] = gi;
        seq_local_[g.members[i]] = i;
        seq_start_[g.members[i]] = shared;
      }
      member_begin_.push_back(int(members_.size()));
      work_begin_.push_back(work_begin_.back() + tiles * chunks);
      parts += members * chunks;
    }
    header_[1] = work_begin_.back();
    parts_ = std::max(parts, 1);
    if (members_.empty()) members_.push_back(0);
    if (shared_len_.empty()) shared_len_ = chunk_len_ = part_begin_ = {0};
  }

  Shape shape_;
  kv::KvLayout layout_;
  std::vector<int> contexts_;
  std::vector<TestGroup> groups_;
  int num_blocks_ = 0;
  std::vector<bf16> pool_h_, q_h_;
  std::vector<int32_t> block_ids_, offsets_, rows_;
  std::vector<int32_t> header_, member_begin_, work_begin_, shared_len_, chunk_len_, part_begin_,
      members_, seq_group_, seq_local_, seq_start_;
  int parts_ = 1;
};

struct Result {
  std::vector<bf16> out;
  KernelStatus status;
};

class CudaCascadeTest : public CudaTest, public ::testing::WithParamInterface<Shape> {
 protected:
  // Runs the plain decode kernel (cascade = false) or cascade attention on the fixture.
  Result run(const CascadeFixture& f, bool cascade, int splits, int work_slots) {
    const Shape s = f.shape_;
    const int n = int(f.contexts_.size());
    DeviceArray<bf16> pool(f.pool_h_), q(f.q_h_), out(f.q_h_.size());
    DeviceArray<int32_t> rows(f.rows_),
        ctx(std::vector<int32_t>(f.contexts_.begin(), f.contexts_.end())), bto(f.offsets_),
        ids(f.block_ids_);
    DeviceArray<int32_t> header(f.header_), mb(f.member_begin_), wb(f.work_begin_),
        sl(f.shared_len_), cl(f.chunk_len_), pb(f.part_begin_), mem(f.members_), sg(f.seq_group_),
        sloc(f.seq_local_), ss(f.seq_start_);
    AttentionArgs a;
    a.q = q.get();
    a.out = out.get();
    a.kv = paged_kv_for_layer(pool.get(), f.layout_, 0);
    a.num_heads = s.heads;
    a.scale = 1.f / std::sqrt(float(s.head_dim));
    DecodeAttentionMeta m;
    m.token_row = rows.get();
    m.context_len = ctx.get();
    m.block_table_offset = bto.get();
    m.block_ids = ids.get();
    m.num_seqs = n;
    m.num_splits = splits;
    const size_t dws_bytes = size_t(n) * s.heads * splits * (s.head_dim + 2) * sizeof(float);
    DeviceArray<uint8_t> dws(dws_bytes);
    out.poison(0xff);  // NaN
    Result r;
    if (!cascade) {
      r.status = decode_attention(stream_, a, m, dws.get(), dws_bytes);
    } else {
      CascadeAttentionMeta cm;
      cm.header = header.get();
      cm.member_begin = mb.get();
      cm.work_begin = wb.get();
      cm.shared_len = sl.get();
      cm.chunk_len = cl.get();
      cm.part_begin = pb.get();
      cm.members = mem.get();
      cm.seq_group = sg.get();
      cm.seq_local = sloc.get();
      cm.seq_start = ss.get();
      cm.work_slots = work_slots;
      cm.max_parts = f.parts_;
      const size_t pws_bytes = cascade_prefix_workspace_bytes(f.parts_, s.heads, s.head_dim);
      DeviceArray<uint8_t> pws(pws_bytes);
      pws.poison(0xff);  // every partial a group reads must have been written
      r.status =
          cascade_decode_attention(stream_, a, m, cm, dws.get(), dws_bytes, pws.get(), pws_bytes);
    }
    if (!r.status.ok()) return r;
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    r.out = out.download();
    return r;
  }

  // Cascade against plain decode on every decode row; padding rows must be zero in both.
  void expect_same(const CascadeFixture& f, int splits, int work_slots) {
    SCOPED_TRACE(fmt::format("splits {} work slots {}", splits, work_slots));
    const Shape s = f.shape_;
    Result plain = run(f, false, splits, work_slots);
    ASSERT_TRUE(plain.status.ok()) << plain.status.message;
    Result casc = run(f, true, splits, work_slots);
    ASSERT_TRUE(casc.status.ok()) << casc.status.message;
    double max_err = 0, num = 0, den = 0;
    for (size_t i = 0; i < f.contexts_.size(); ++i)
      for (int h = 0; h < s.heads; ++h)
        for (int d = 0; d < s.head_dim; ++d) {
          const size_t at = (size_t(f.rows_[i]) * s.heads + h) * s.head_dim + d;
          const float want = bf(plain.out[at]), got = bf(casc.out[at]);
          ASSERT_TRUE(std::isfinite(got)) << "seq " << i << " head " << h << " dim " << d;
          if (f.contexts_[i] == 0) {
            ASSERT_EQ(got, 0.f) << "padding seq " << i;
          }
          const double err = std::fabs(double(got) - want);
          max_err = std::max(max_err, err);
          num += err * err;
          den += double(want) * want;
          // fp32 accumulation in both; the prefix pass rounds probabilities to bf16 for the
          // tensor-core PV product (as the prefill kernel does), then both round to bf16.
          ASSERT_LT(err, 4e-3 + 1e-2 * std::fabs(want))
              << "seq " << i << " (context " << f.contexts_[i] << ", group " << f.seq_group_[i]
              << ") head " << h << " dim " << d << " got " << got << " want " << want;
        }
    EXPECT_LT(std::sqrt(num / std::max(den, 1e-30)), 1e-2);
    RecordProperty("max_abs_error", std::to_string(max_err));
  }
};

// Two groups (one larger than a row tile, with members ending at, inside and one past a block
// boundary), a member-less sequence that shares the first group's blocks, a long ungrouped
// sequence, a one-token sequence and padding.
TEST_P(CudaCascadeTest, MatchesPlainDecodeWithSeveralGroups) {
  const Shape s = GetParam();
  const int bs = s.block_size;
  const int G = s.heads / s.kv_heads;
  // Group 0 spans more than one row tile of kCascadeRowTile rows.
  const int big = kCascadeRowTile / G + 3;
  std::vector<int> contexts;
  TestGroup g0{{}, 37, 192, {}};  // 37 blocks: neither chunks nor key tiles divide it
  TestGroup g1{{}, 3, 64, {}};    // a prefix shorter than one key tile
  const int suffixes[] = {1, 17, bs, bs + 1, 100, 2, 33};
  for (int i = 0; i < big; ++i) {
    g0.members.push_back(int(contexts.size()));
    contexts.push_back(g0.shared_blocks * bs + suffixes[i % 7]);
  }
  for (int i = 0; i < 3; ++i) {
    g1.members.push_back(int(contexts.size()));
    contexts.push_back(g1.shared_blocks * bs + 1 + 40 * i);
  }
  g0.sharers.push_back(int(contexts.size()));
  contexts.push_back(g0.shared_blocks * bs + 5);
  contexts.push_back(1);
  contexts.push_back(700);
  contexts.push_back(0);  // padding
  CascadeFixture f(s, contexts, {g0, g1}, 300 + s.head_dim + s.heads);
  for (int splits : {1, 5})
    for (int slots : {3, 1000}) expect_same(f, splits, slots);
}

// One group, every chunk length from one key tile to the whole prefix, a prefix of 625 blocks
// (the seed's 10k tokens).
TEST_P(CudaCascadeTest, EveryChunkLengthGivesTheSameResult) {
  const Shape s = GetParam();
  const int shared_blocks = 10000 / s.block_size;
  std::vector<int> contexts;
  TestGroup g{{}, shared_blocks, 64, {}};
  for (int i = 0; i < 6; ++i) {
    g.members.push_back(i);
    contexts.push_back(shared_blocks * s.block_size + 1 + 37 * i);
  }
  for (int chunk_len : {64, 320, 1024, 10048}) {
    SCOPED_TRACE(fmt::format("chunk {}", chunk_len));
    g.chunk_len = chunk_len;
    CascadeFixture f(s, contexts, {g}, 400 + chunk_len);
    expect_same(f, 2, 40);
  }
}

// No groups at all: the cascade path is the plain decode kernel plus a merge.
TEST_P(CudaCascadeTest, WithoutGroupsEqualsPlainDecode) {
  const Shape s = GetParam();
  CascadeFixture f(s, {1, 16, 17, 500, 0}, {}, 500);
  expect_same(f, 3, 8);
}

TEST_P(CudaCascadeTest, RejectsBadArguments) {
  const Shape s = GetParam();
  AttentionArgs a;
  a.num_heads = s.heads;
  a.kv.num_kv_heads = s.kv_heads;
  a.kv.head_dim = s.head_dim;
  DecodeAttentionMeta m;
  m.num_seqs = 2;
  CascadeAttentionMeta cm;
  cm.max_parts = 4;
  auto st = cascade_decode_attention(stream_, a, m, cm, nullptr, 0, nullptr, 0);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("prefix workspace"), std::string::npos) << st.message;
  a.num_heads = s.kv_heads * 3;
  st = cascade_decode_attention(stream_, a, m, cm, nullptr, 0, nullptr, 0);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message.find("not supported"), std::string::npos) << st.message;
  EXPECT_FALSE(cascade_attention_supported(24, 8, 128));
  EXPECT_FALSE(cascade_attention_supported(16, 8, 32));
  EXPECT_TRUE(cascade_attention_supported(32, 8, 128));
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaCascadeTest,
                         ::testing::Values(Shape{128, 16, 8, 16},  // Qwen3-0.6B
                                           Shape{128, 32, 8, 16},  // Qwen3-8B
                                           Shape{128, 40, 8, 16},  // Qwen3-14B
                                           Shape{64, 4, 2, 32},    // 32-token blocks
                                           Shape{64, 2, 2, 16}),   // no grouping
                         [](const auto& info) {
                           const Shape& s = info.param;
                           return fmt::format("d{}_h{}_kv{}_b{}", s.head_dim, s.heads, s.kv_heads,
                                              s.block_size);
                         });

}  // namespace
}  // namespace kvtier::kernels::cuda
#endif  // KVTIER_HAVE_CUDA
