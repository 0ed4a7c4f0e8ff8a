#pragma once
// The paged KV cache with prefix caching, as the scheduler uses it: per-sequence block tables
// over the BlockPool. Planning an allocation (prepare: does it fit, what it costs) is separate
// from applying it, and a refusal changes nothing. Engine thread only.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kv/block_hasher.h"
#include "kv/block_pool.h"
#include "kv/events.h"

namespace kvtier::kv {

// A sequence's view of the cache, kept in the engine's request.
struct SeqBlocks {
  std::vector<int32_t> table;    // block ids; table[i] holds tokens [i * bs, (i + 1) * bs)
  std::vector<uint64_t> hashes;  // keys of the sequence's full token blocks known so far
  int32_t num_hashed = 0;        // leading table entries already offered to the cache
  BlockHashChain salt;           // the hash algorithm, cache_salt and chain position of `hashes`
};

// The leading full blocks of a sequence that the cache holds.
struct PrefixMatch {
  std::vector<int32_t> blocks;
  int32_t num_not_ready = 0;  // blocks still being loaded from another tier
  void clear() {
    blocks.clear();
    num_not_ready = 0;
  }
};

// A planned change to one sequence's table, made by prepare() and carried out by apply().
struct Allocation {
  int32_t num_tokens = 0;      // tokens the table will cover
  int32_t num_new_blocks = 0;  // taken from the free queue
  int32_t num_revived = 0;     // matched blocks that leave the free queue
};

class BlockManager {
 public:
  struct Options {
    int32_t num_blocks = 0;
    int32_t block_size = 16;
    bool enable_prefix_caching = true;
    KvEventSink* events = nullptr;  // GPU-medium BlockStored / BlockRemoved
  };
  explicit BlockManager(const Options& options);

  int32_t block_size() const { return block_size_; }
  int32_t num_blocks() const { return pool_.num_blocks(); }
  int32_t num_free_blocks() const { return pool_.num_free(); }
  bool prefix_caching() const { return prefix_caching_; }
  // Fraction of blocks referenced by a sequence or a transfer, 0..1.
  double usage() const;
  int32_t blocks_for(int32_t num_tokens) const {
    return (num_tokens + block_size_ - 1) / block_size_;
  }

  // The longest run of leading full blocks (keys `hashes`, token ids `tokens`) held in the
  // cache, at most `max_blocks`, confirmed token by token.
  void match_prefix(std::span<const uint64_t> hashes, std::span<const int32_t> tokens,
                    int32_t max_blocks, PrefixMatch& out) const;

  // Plans for `seq` to cover `num_tokens` tokens. `match` (for a sequence without blocks)
  // becomes the head of its table. nullopt when the free blocks do not suffice.
  std::optional<Allocation> prepare(const SeqBlocks& seq, int32_t num_tokens,
                                    const PrefixMatch* match = nullptr) const;
  void apply(SeqBlocks& seq, const Allocation& allocation, const PrefixMatch* match = nullptr);

  // Gives keys to the table's blocks [seq.num_hashed, num_full_blocks), whose tokens are all
  // present now, and reports them as stored. Blocks whose key another block already holds stay
  // unkeyed. Appends the table indices of the newly keyed blocks (without prefix caching: of the
  // newly full ones) to `newly_cached` when given.
  void cache_full_blocks(SeqBlocks& seq, std::span<const int32_t> tokens, int32_t num_full_blocks,
                         bool ready = true, std::vector<int32_t>* newly_cached = nullptr);

  // Releases the table last block first (so the sequence's tail is evicted before its head).
  void free(SeqBlocks& seq);

  // Extra references held by in-flight transfers.
  void acquire(int32_t id) { pool_.acquire(id); }
  void release(int32_t id) { pool_.release(id); }
  // Not-ready blocks hold KV that is still arriving from another tier.
  void set_ready(int32_t id, bool ready = true) { pool_.set_ready(id, ready); }
  bool is_ready(int32_t id) const { return pool_.is_ready(id); }
  // A load into the block failed: it loses its key (no sequence can match it any more) and
  // counts as ready again, holding nothing. Sequences holding it must recompute its tokens.
  void invalidate(int32_t id) {
    pool_.uncache(id);
    pool_.set_ready(id);
  }

  const BlockPool& pool() const { return pool_; }

 private:
  void report_stored(const SeqBlocks& seq, std::span<const int32_t> tokens, int32_t first,
                     int32_t end);

  int32_t block_size_;
  bool prefix_caching_;
  KvEventSink* events_;
  BlockPool pool_;
};

}  // namespace kvtier::kv
