#include "tokenizer/bpe_model.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {

Expected<std::unique_ptr<BpeModel>> BpeModel::build(BpeConfig config, std::string_view where) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  model->vocab_ = std::move(config.vocab);
  model->fuse_unk_ = config.fuse_unk;
  model->ignore_merges_ = config.ignore_merges;
  if (config.unk_token) {
    auto it = model->vocab_.find(*config.unk_token);
    if (it == model->vocab_.end()) {
      return invalid_argument("{}: model.unk_token '{}' is not in model.vocab", where, *config.unk_token);
    }
    model->unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    std::string spelling;
    append_utf8(spelling, byte_to_char(static_cast<uint8_t>(b)));
    auto it = model->vocab_.find(spelling);
    model->byte_ids_[b] = it == model->vocab_.end() ? -1 : it->second;
  }
  model->merges_.reserve(config.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < config.merges.size(); ++rank) {
    const auto& [left, right] = config.merges[rank];
    auto l = model->vocab_.find(left);
    auto r = model->vocab_.find(right);
    if (l == model->vocab_.end() || r == model->vocab_.end()) {
      return invalid_argument("{}: model.merges[{}]: token '{}' is not in model.vocab", where, rank,
                              l == model->vocab_.end() ? left : right);
    }
    joined.assign(left).append(right);
    auto m = model->vocab_.find(joined);
    if (m == model->vocab_.end()) {
      return invalid_argument("{}: model.merges[{}]: merged token '{}' is not in model.vocab", where,
                              rank, joined);
    }
    model->merges_.insert(l->second, r->second, Merge{static_cast<int32_t>(rank), m->second});
  }
  return model;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::encode_word(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  if (bytes.size() == 1 && byte_ids_[static_cast<uint8_t>(bytes[0])] >= 0) {
    out.push_back(byte_ids_[static_cast<uint8_t>(bytes[0])]);
    return;
  }
  if (ignore_merges_) {
    if (auto id = token_to_id(to_byte_level(bytes))) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = bytes.size() <= kMaxCachedWordBytes;
  if (cacheable && cache_.lookup(bytes, out)) return;
  const size_t first = out.size();
  merge_word(bytes, out);
  if (cacheable) cache_.insert(bytes, std::span<const int32_t>(out.data() + first, out.size() - first));
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool removed;
};

constexpr size_t kKeepScratch = 1 << 16;

struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t merged_id;
  // The heap functions keep the largest on top: order so that the lowest rank, then the
  // leftmost position, comes out first.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

// Merges the lowest-ranked adjacent pair first (leftmost on ties) over a linked list of symbols
// with a priority queue: O(n log n) however long the word. A queued candidate is stale once its
// left symbol is gone or its pair no longer makes the same merged token.
void BpeModel::merge_word(std::string_view bytes, std::vector<int32_t>& out) const {
  // Per-thread scratch space: the merge loop then allocates nothing for most words.
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, n - 1, n + 1, false});
  };
  // Bytes whose character is missing from the vocabulary become the unknown token (fused into
  // one when fuse_unk), or are dropped when there is none.
  bool pending_unk = false;
  for (char c : bytes) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      if (pending_unk) add(*unk_id_);
      pending_unk = false;
      add(id);
    } else if (unk_id_) {
      if (pending_unk && !fuse_unk_) add(*unk_id_);
      pending_unk = true;
    }
  }
  if (pending_unk) add(*unk_id_);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  auto push = [](Candidate c) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end());
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = merges_.find(symbols[i].id, symbols[i + 1].id)) {
      heap.push_back(Candidate{m->rank, static_cast<int32_t>(i), m->merged_id});
    }
  }
  std::make_heap(heap.begin(), heap.end());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.removed || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const Merge* m = merges_.find(left.id, right.id);
    if (m == nullptr || m->merged_id != top.merged_id) continue;
    left.id = top.merged_id;
    right.removed = true;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const Merge* pm = merges_.find(symbols[left.prev].id, left.id)) {
        push(Candidate{pm->rank, left.prev, pm->merged_id});
      }
    }
    if (left.next >= 0) {
      if (const Merge* nm = merges_.find(left.id, symbols[left.next].id)) {
        push(Candidate{nm->rank, top.pos, nm->merged_id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (!s.removed) out.push_back(s.id);
  }
  // A huge word's scratch space is not kept for the thread's lifetime.
  if (symbols.capacity() > kKeepScratch) {
    symbols = {};
    heap = {};
  }
}

}  // namespace kvtier::tokenizer
