#include "kv/block_manager.h"

#include <algorithm>
#include <cassert>

namespace kvtier::kv {

BlockManager::BlockManager(const Options& options)
    : block_size_(options.block_size),
      prefix_caching_(options.enable_prefix_caching),
      events_(options.events),
      pool_(options.num_blocks, options.block_size, options.events) {}

double BlockManager::usage() const {
  if (pool_.num_blocks() == 0) return 0.0;
  return 1.0 - double(pool_.num_free()) / double(pool_.num_blocks());
}

void BlockManager::match_prefix(std::span<const uint64_t> hashes, std::span<const int32_t> tokens,
                                int32_t max_blocks, PrefixMatch& out) const {
  out.clear();
  if (!prefix_caching_) return;
  const size_t limit = std::min(hashes.size(), size_t(std::max(max_blocks, 0)));
  for (size_t i = 0; i < limit; ++i) {
    const int32_t id =
        pool_.find(hashes[i], tokens.subspan(i * size_t(block_size_), size_t(block_size_)));
    if (id < 0) break;
    out.blocks.push_back(id);
    if (!pool_.is_ready(id)) ++out.num_not_ready;
  }
}

std::optional<Allocation> BlockManager::prepare(const SeqBlocks& seq, int32_t num_tokens,
                                                const PrefixMatch* match) const {
  Allocation a;
  a.num_tokens = num_tokens;
  int32_t have = int32_t(seq.table.size());
  if (match && !match->blocks.empty()) {
    assert(seq.table.empty());
    have = int32_t(match->blocks.size());
    for (int32_t id : match->blocks) {
      if (pool_.ref_count(id) == 0) ++a.num_revived;
    }
  }
  a.num_new_blocks = std::max(0, blocks_for(num_tokens) - have);
  if (a.num_new_blocks + a.num_revived > pool_.num_free()) return std::nullopt;
  return a;
}

void BlockManager::apply(SeqBlocks& seq, const Allocation& allocation, const PrefixMatch* match) {
  if (match && !match->blocks.empty()) {
    for (int32_t id : match->blocks) {
      pool_.acquire(id);
      seq.table.push_back(id);
    }
    seq.num_hashed = int32_t(match->blocks.size());
  }
  for (int32_t i = 0; i < allocation.num_new_blocks; ++i) seq.table.push_back(pool_.allocate());
}

void BlockManager::cache_full_blocks(SeqBlocks& seq, std::span<const int32_t> tokens,
                                     int32_t num_full_blocks, bool ready,
                                     std::vector<int32_t>* newly_cached) {
  if (!prefix_caching_) {
    // No keys in the pool, but the blocks are still newly full (a second tier may store them).
    for (int32_t i = seq.num_hashed; newly_cached && i < num_full_blocks; ++i) {
      newly_cached->push_back(i);
    }
    seq.num_hashed = std::max(seq.num_hashed, num_full_blocks);
    return;
  }
  assert(int32_t(seq.hashes.size()) >= num_full_blocks);
  assert(int32_t(seq.table.size()) >= num_full_blocks);
  int32_t run_start = -1;  // first block of the current run of newly keyed blocks
  for (int32_t i = seq.num_hashed; i < num_full_blocks; ++i) {
    const int32_t id = seq.table[size_t(i)];
    auto block_tokens = tokens.subspan(size_t(i) * size_t(block_size_), size_t(block_size_));
    if (pool_.cache(id, seq.hashes[size_t(i)], block_tokens, ready)) {
      if (newly_cached) newly_cached->push_back(i);
      if (run_start < 0) run_start = i;
    } else if (run_start >= 0) {
      report_stored(seq, tokens, run_start, i);
      run_start = -1;
    }
  }
  if (run_start >= 0) report_stored(seq, tokens, run_start, num_full_blocks);
  seq.num_hashed = std::max(seq.num_hashed, num_full_blocks);
}

void BlockManager::report_stored(const SeqBlocks& seq, std::span<const int32_t> tokens,
                                 int32_t first, int32_t end) {
  if (!events_) return;
  BlockStoredEvent event;
  event.block_hashes.assign(seq.hashes.begin() + first, seq.hashes.begin() + end);
  if (first > 0) event.parent_block_hash = seq.hashes[size_t(first) - 1];
  auto span = tokens.subspan(size_t(first) * size_t(block_size_),
                             size_t(end - first) * size_t(block_size_));
  event.token_ids.assign(span.begin(), span.end());
  event.block_size = block_size_;
  event.medium = "GPU";
  events_->block_stored(std::move(event));
}

void BlockManager::free(SeqBlocks& seq) {
  for (auto it = seq.table.rbegin(); it != seq.table.rend(); ++it) pool_.release(*it);
  seq.table.clear();
  seq.num_hashed = 0;
}

}  // namespace kvtier::kv
