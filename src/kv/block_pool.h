#pragma once
// The device's KV blocks as the prefix cache sees them: reference counts, keys, and the free
// queue that doubles as the eviction order. Owned by the engine thread (BlockManager).
//
// Free queue: blocks with no reference, evicted from the head. A released block that holds a key
// goes to the tail (least recently used first); one without a key goes to the head, since nothing
// can hit it. Callers release a sequence's blocks last-first, so its tail is evicted before its
// head. A free block keeps its key and can be hit until allocate() reuses it.
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kv/events.h"

namespace kvtier::kv {

class BlockPool {
 public:
  // `events` (may be null) receives BlockRemoved for every evicted key.
  BlockPool(int32_t num_blocks, int32_t block_size, KvEventSink* events = nullptr);

  int32_t num_blocks() const { return int32_t(ref_.size()); }
  int32_t block_size() const { return block_size_; }
  int32_t num_free() const { return num_free_; }
  int32_t ref_count(int32_t id) const { return ref_[id]; }
  bool is_cached(int32_t id) const { return cached_[id] != 0; }
  bool is_ready(int32_t id) const { return ready_[id] != 0; }
  std::optional<uint64_t> key(int32_t id) const;
  std::span<const int32_t> tokens(int32_t id) const;
  int32_t num_cached() const { return int32_t(by_key_.size()); }

  // The cached block with key `hash` whose token ids equal `tokens`, or -1. A key match with
  // different tokens (a hash collision) is a miss.
  int32_t find(uint64_t hash, std::span<const int32_t> tokens) const;

  // Takes a reference; a free block leaves the free queue and keeps its key.
  void acquire(int32_t id);
  // Drops a reference; at zero the block joins the free queue.
  void release(int32_t id);
  // Takes the head of the free queue with one reference, dropping (and reporting) its key.
  // Precondition: num_free() > 0.
  int32_t allocate();

  // Gives a full block its key and token ids. False, changing nothing, when another block holds
  // the key already (two sequences computed the same block). `ready` false marks a block whose
  // data is still arriving from another tier.
  bool cache(int32_t id, uint64_t hash, std::span<const int32_t> tokens, bool ready = true);
  void set_ready(int32_t id, bool ready = true) { ready_[id] = ready ? 1 : 0; }
  // Drops the block's key (reporting it removed), so nothing can hit it any more: its data is
  // not what the key says (a load into it failed). A free block moves to the head of the queue.
  void uncache(int32_t id);

  // Releases of unreferenced blocks that were refused (always 0 unless there is a bug).
  int64_t over_releases() const { return over_releases_; }
  // Free-queue order from head (next evicted) to tail, for tests and invariant checks.
  std::vector<int32_t> free_queue() const;

 private:
  void push_front(int32_t id);
  void push_back(int32_t id);
  void unlink(int32_t id);
  void drop_key(int32_t id);

  int32_t block_size_;
  KvEventSink* events_;
  std::vector<int32_t> ref_;
  std::vector<uint8_t> cached_;
  std::vector<uint8_t> ready_;
  std::vector<uint64_t> key_;
  std::vector<int32_t> tokens_;  // block_size ids per cached block, for hit confirmation
  // Intrusive doubly linked free queue; index num_blocks is the sentinel.
  std::vector<int32_t> prev_, next_;
  int32_t num_free_ = 0;
  int64_t over_releases_ = 0;
  std::unordered_map<uint64_t, int32_t> by_key_;
};

}  // namespace kvtier::kv
