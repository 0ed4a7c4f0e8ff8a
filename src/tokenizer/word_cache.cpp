#include "tokenizer/word_cache.h"

#include <mutex>

namespace kvtier::tokenizer {

WordCache::WordCache(size_t capacity) : shard_capacity_(capacity / kShards + 1) {}

WordCache::Shard& WordCache::shard_for(std::string_view word) const {
  // The low bits feed the map's buckets; take the shard from the high bits.
  const size_t h = Hash{}(word);
  return shards_[(h >> 56) % kShards];
}

bool WordCache::lookup(std::string_view word, std::vector<int32_t>& out) const {
  Shard& shard = shard_for(word);
  std::shared_lock lock(shard.mu);
  auto it = shard.map.find(word);
  if (it == shard.map.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::insert(std::string_view word, std::span<const int32_t> ids) {
  Shard& shard = shard_for(word);
  std::unique_lock lock(shard.mu);
  if (shard.map.size() >= shard_capacity_) shard.map.clear();
  shard.map.try_emplace(std::string(word), ids.begin(), ids.end());
}

size_t WordCache::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace kvtier::tokenizer
