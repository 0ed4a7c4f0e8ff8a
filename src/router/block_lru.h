#pragma once
// The block keys one endpoint was sent, most recent first, bounded by a capacity: the approximate
// prefix scorer's guess at what that endpoint's prefix cache holds. Not thread-safe; the scorer
// guards it.
#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>

namespace kvtier::router {

class BlockLru {
 public:
  explicit BlockLru(size_t capacity) : capacity_(capacity) {}

  // Records a request's keys. They go in from last to first, so a prefix's first blocks are the
  // most recent and the last to be evicted (the engine also evicts a request's tail first).
  void add(std::span<const uint64_t> keys);
  bool contains(uint64_t key) const { return index_.count(key) != 0; }
  // How many of `keys`, from the first, are present (stops at the first miss).
  size_t leading_matches(std::span<const uint64_t> keys) const;
  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }
  void clear();

 private:
  size_t capacity_;
  std::list<uint64_t> order_;  // front = most recent
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> index_;
};

}  // namespace kvtier::router
