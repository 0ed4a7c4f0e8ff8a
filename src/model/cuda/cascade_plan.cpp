#include "model/cuda/cascade_plan.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/attention.h"

namespace kvtier::model::cuda {

using kernels::cuda::kCascadeKeyTile;
using kernels::cuda::kCascadeRowTile;

namespace {

// The fewest keys per prefix chunk: shorter chunks spend more on loading Q than on keys.
constexpr int32_t kMinChunkKeys = 256;

struct Decode {
  int32_t index;  // decode index in the step
  int32_t limit;  // blocks wholly before the token computed now: shareable
  std::span<const int32_t> table;
};

struct Group {
  std::vector<int32_t> members;  // decode indices, ascending
  int32_t shared_blocks = 0;
};

int32_t ceil_div(int64_t a, int64_t b) { return int32_t((a + b - 1) / b); }

// Among sequences that start with the leader's first block, the members and the shared length
// that save the most reads: the k longest common prefixes with the leader, shared up to the
// k-th longest.
Group best_group(const std::vector<const Decode*>& cands, int32_t block_size,
                 const CascadeOptions& o) {
  const Decode& leader = *cands.front();
  std::vector<std::pair<int32_t, int32_t>> lcp;  // (common blocks with the leader, index)
  for (const Decode* d : cands) {
    const int32_t cap = std::min(leader.limit, d->limit);
    int32_t n = 0;
    while (n < cap && d->table[n] == leader.table[n]) ++n;
    lcp.push_back({n, d->index});
  }
  std::stable_sort(lcp.begin(), lcp.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  Group best;
  int64_t best_saved = 0;
  for (size_t k = std::max<size_t>(o.min_members, 2); k <= lcp.size(); ++k) {
    const int64_t shared = int64_t(lcp[k - 1].first) * block_size;
    const int64_t saved = int64_t(k - 1) * shared;
    if (shared < o.min_shared_tokens || saved < o.min_saved_tokens || saved <= best_saved) continue;
    best_saved = saved;
    best.shared_blocks = lcp[k - 1].first;
    best.members.clear();
    for (size_t i = 0; i < k; ++i) best.members.push_back(lcp[i].second);
  }
  std::sort(best.members.begin(), best.members.end());
  return best;
}

}  // namespace

CascadeSections CascadeSections::layout(int32_t max_seqs) {
  CascadeSections s;
  size_t at = 0;
  auto take = [&](size_t n) {
    const size_t here = at;
    at += (n + 3) / 4 * 4;
    return here;
  };
  const size_t groups = size_t(std::max(max_seqs, 0)) / 2 + 1;
  s.header = take(4);
  s.member_begin = take(groups + 1);
  s.work_begin = take(groups + 1);
  s.shared_len = take(groups);
  s.chunk_len = take(groups);
  s.part_begin = take(groups);
  s.members = take(size_t(std::max(max_seqs, 0)));
  s.seq_group = take(size_t(std::max(max_seqs, 0)));
  s.seq_local = take(size_t(std::max(max_seqs, 0)));
  s.seq_start = take(size_t(std::max(max_seqs, 0)));
  s.total = at;
  return s;
}

int32_t cascade_max_parts(int32_t max_seqs) { return 16 * std::max(max_seqs, 0) + 256; }

int32_t cascade_work_slots(int32_t num_sms, int32_t num_kv_heads) {
  return std::clamp(ceil_div(2 * int64_t(std::max(num_sms, 1)), std::max(num_kv_heads, 1)), 1,
                    65535);
}

Status build_cascade_plan(const ForwardBatch& batch, int32_t block_size, int32_t num_decode,
                          int32_t max_seqs, const CascadeOptions& options,
                          const CascadeGeometry& geometry, int32_t* packed, CascadePlan& plan) {
  plan = CascadePlan{};
  if (block_size <= 0) return internal_error("cascade plan: block size {}", block_size);
  if (num_decode > max_seqs)
    return internal_error("cascade plan: {} decode sequences exceed the capacity {}", num_decode,
                          max_seqs);
  const CascadeSections sec = CascadeSections::layout(max_seqs);
  std::vector<Decode> decodes;
  for (const SeqChunk& s : batch.seqs) {
    if (s.tokens.size() != 1) continue;
    const int32_t context = s.start_pos + 1;
    const int32_t limit =
        std::min<int32_t>((context - 1) / block_size, int32_t(s.block_table.size()));
    decodes.push_back({int32_t(decodes.size()), std::max(limit, 0), s.block_table});
  }
  if (int32_t(decodes.size()) > num_decode)
    return internal_error("cascade plan: {} decode sequences, {} in the step", decodes.size(),
                          num_decode);

  // Candidates by first block, in order of their first member; sequences too short to share
  // min_shared_tokens never join.
  std::unordered_map<int32_t, size_t> by_first;
  std::vector<std::vector<const Decode*>> cands;
  for (const Decode& d : decodes) {
    if (d.limit == 0 || int64_t(d.limit) * block_size < options.min_shared_tokens) continue;
    auto [it, fresh] = by_first.try_emplace(d.table[0], cands.size());
    if (fresh) cands.emplace_back();
    cands[it->second].push_back(&d);
  }
  // The first remaining candidate leads; its best group leaves (the leader always joins it, or
  // leaves alone when it shares too little with the others, e.g. a sequence that diverges from
  // the common prefix early), and the rest try again. Bounded: the usual case is one round.
  constexpr int kMaxRounds = 8;
  const size_t min_members = size_t(std::max(options.min_members, 2));
  std::vector<Group> groups;
  for (auto& rest : cands) {
    for (int round = 0; round < kMaxRounds && rest.size() >= min_members; ++round) {
      Group g = best_group(rest, block_size, options);
      if (g.members.empty()) {
        rest.erase(rest.begin());
        continue;
      }
      std::erase_if(rest, [&](const Decode* d) {
        return std::binary_search(g.members.begin(), g.members.end(), d->index);
      });
      groups.push_back(std::move(g));
    }
  }

  int32_t* seq_group = packed + sec.seq_group;
  int32_t* seq_local = packed + sec.seq_local;
  int32_t* seq_start = packed + sec.seq_start;
  std::fill_n(seq_group, num_decode, -1);
  std::fill_n(seq_local, num_decode, 0);
  std::fill_n(seq_start, num_decode, 0);
  packed[sec.header] = packed[sec.header + 1] = 0;
  if (groups.empty()) return Status::ok();

  // Chunks: at most two rounds of work items over the work slots (rounded down, so the last
  // round is not a few stragglers), each item about the same number of (row, key) pairs; at most
  // kCascadeMaxChunks per group, at least kMinChunkKeys keys each, and at most the partial rows
  // the workspace holds.
  int64_t total_area = 0;
  int32_t total_members = 0;
  for (const Group& g : groups) {
    const int32_t tiles = ceil_div(int64_t(g.members.size()) * geometry.q_per_kv, kCascadeRowTile);
    total_area += int64_t(tiles) * g.shared_blocks * block_size;
    total_members += int32_t(g.members.size());
  }
  const int64_t target_items = 2 * int64_t(std::max(geometry.work_slots, 1));
  const int32_t parts_cap = std::max(cascade_max_parts(max_seqs) / total_members, 1);
  int32_t work = 0, parts = 0, member = 0;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    const int32_t n = int32_t(g.members.size());
    const int32_t shared = g.shared_blocks * block_size;
    const int32_t tiles = ceil_div(int64_t(n) * geometry.q_per_kv, kCascadeRowTile);
    int64_t want = target_items * shared / total_area;
    want = std::min<int64_t>(
        {want, kCascadeMaxChunks, parts_cap, std::max(shared / kMinChunkKeys, 1)});
    want = std::max<int64_t>(want, 1);
    const int32_t chunk_len = ceil_div(ceil_div(shared, want), kCascadeKeyTile) * kCascadeKeyTile;
    const int32_t chunks = ceil_div(shared, chunk_len);
    packed[sec.member_begin + gi] = member;
    packed[sec.work_begin + gi] = work;
    packed[sec.shared_len + gi] = shared;
    packed[sec.chunk_len + gi] = chunk_len;
    packed[sec.part_begin + gi] = parts;
    for (int32_t i = 0; i < n; ++i) {
      const int32_t d = g.members[i];
      packed[sec.members + member + i] = d;
      seq_group[d] = int32_t(gi);
      seq_local[d] = i;
      seq_start[d] = shared;
    }
    member += n;
    work += tiles * chunks;
    parts += n * chunks;
    plan.shared_tokens += n * shared;
  }
  packed[sec.member_begin + groups.size()] = member;
  packed[sec.work_begin + groups.size()] = work;
  packed[sec.header] = int32_t(groups.size());
  packed[sec.header + 1] = work;
  plan.num_groups = int32_t(groups.size());
  plan.num_members = member;
  plan.work_items = work;
  plan.parts = parts;
  return Status::ok();
}

}  // namespace kvtier::model::cuda
