#pragma once
// A bounded cache from a pre-token's bytes to its BPE ids, shared by every thread that encodes
// with one Tokenizer. Sharded, each shard behind its own reader-writer lock, so concurrent
// encoders rarely wait on each other; a full shard is emptied rather than tracking recency.
#include <array>
#include <cstdint>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kvtier::tokenizer {

class WordCache {
 public:
  explicit WordCache(size_t capacity);
  // Appends the cached ids of `word` to `out`; false when absent.
  bool lookup(std::string_view word, std::vector<int32_t>& out) const;
  void insert(std::string_view word, std::span<const int32_t> ids);
  size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::shared_mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  static constexpr size_t kShards = 16;
  Shard& shard_for(std::string_view word) const;

  mutable std::array<Shard, kShards> shards_;
  size_t shard_capacity_;
};

}  // namespace kvtier::tokenizer
