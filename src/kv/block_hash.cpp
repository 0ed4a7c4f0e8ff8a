#include "kv/block_hash.h"

#include <xxhash.h>

#include <array>
#include <cstring>

namespace kvtier::kv {

uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens,
                    std::span<const uint64_t> extra_keys) {
  // One contiguous buffer and one XXH3 call: cheaper than the streaming API for 16-token blocks.
  constexpr size_t kStackBytes = 1024;
  const size_t bytes = sizeof(parent) + tokens.size_bytes() + extra_keys.size_bytes();
  std::array<unsigned char, kStackBytes> stack;
  std::vector<unsigned char> heap;
  unsigned char* buf = stack.data();
  if (bytes > kStackBytes) {
    heap.resize(bytes);
    buf = heap.data();
  }
  std::memcpy(buf, &parent, sizeof(parent));
  if (!tokens.empty()) std::memcpy(buf + sizeof(parent), tokens.data(), tokens.size_bytes());
  if (!extra_keys.empty()) {
    std::memcpy(buf + sizeof(parent) + tokens.size_bytes(), extra_keys.data(),
                extra_keys.size_bytes());
  }
  return XXH3_64bits(buf, bytes);
}

std::optional<uint64_t> salt_key(std::string_view cache_salt) {
  if (cache_salt.empty()) return std::nullopt;
  return XXH3_64bits(cache_salt.data(), cache_salt.size());
}

void extend_block_hashes(std::vector<uint64_t>& hashes, std::span<const int32_t> tokens,
                         int32_t block_size, std::optional<uint64_t> salt) {
  const size_t full = tokens.size() / size_t(block_size);
  for (size_t i = hashes.size(); i < full; ++i) {
    const uint64_t parent = i == 0 ? kRootBlockHash : hashes[i - 1];
    auto block = tokens.subspan(i * size_t(block_size), size_t(block_size));
    if (i == 0 && salt) {
      const uint64_t extra[1] = {*salt};
      hashes.push_back(hash_block(parent, block, extra));
    } else {
      hashes.push_back(hash_block(parent, block));
    }
  }
}

std::vector<uint64_t> hash_token_blocks(std::span<const int32_t> tokens, int32_t block_size,
                                        std::string_view cache_salt) {
  std::vector<uint64_t> hashes;
  hashes.reserve(tokens.size() / size_t(block_size));
  extend_block_hashes(hashes, tokens, block_size, salt_key(cache_salt));
  return hashes;
}

}  // namespace kvtier::kv
