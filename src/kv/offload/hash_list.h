#pragma once
// An ordered set of block hashes, least recent first: O(1) push to the back, removal and lookup.
// The building block of the LRU and ARC policies.
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

namespace kvtier::kv {

class HashList {
 public:
  using const_iterator = std::list<uint64_t>::const_iterator;

  bool contains(uint64_t hash) const { return index_.contains(hash); }
  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }

  // Appends `hash` as the most recent entry, moving it there when already present.
  void push_back(uint64_t hash) {
    auto it = index_.find(hash);
    if (it != index_.end()) {
      order_.splice(order_.end(), order_, it->second);
      return;
    }
    index_.emplace(hash, order_.insert(order_.end(), hash));
  }
  bool erase(uint64_t hash) {
    auto it = index_.find(hash);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }
  std::optional<uint64_t> pop_front() {
    if (order_.empty()) return std::nullopt;
    const uint64_t hash = order_.front();
    erase(hash);
    return hash;
  }
  // Least recent first.
  const_iterator begin() const { return order_.begin(); }
  const_iterator end() const { return order_.end(); }

 private:
  std::list<uint64_t> order_;
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> index_;
};

}  // namespace kvtier::kv
