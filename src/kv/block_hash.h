#pragma once
// Prefix-cache keys for token blocks. A full block's key is a chained 64-bit hash of
// (parent, the block's token ids, extra keys), so equal keys mean equal prefixes (confirmed
// against token ids by the block pool). The engine and the router both name blocks with these
// functions, so a router can predict which blocks an engine holds. The functions below are the
// default algorithm, xxh3_64; kv/block_hasher.h has vLLM's (sha256_cbor with a hash seed).
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "kv/block_hasher.h"

namespace kvtier::kv {

// The parent key hashed into the first block of every sequence.
inline constexpr uint64_t kRootBlockHash = 0;

// Key of one block: XXH3-64 over parent (8 bytes), token ids (4 bytes each) and extra keys
// (8 bytes each), all little-endian.
uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens,
                    std::span<const uint64_t> extra_keys = {});

// The extra key that a cache_salt mixes into the first block; nullopt for an empty salt.
std::optional<uint64_t> salt_key(std::string_view cache_salt);

// Appends the keys of full blocks of `tokens` that `hashes` does not hold yet (hashes[i] names
// tokens [i * block_size, (i + 1) * block_size)). Incremental: a sequence that grows pays only
// for its new blocks.
void extend_block_hashes(std::vector<uint64_t>& hashes, std::span<const int32_t> tokens,
                         int32_t block_size, std::optional<uint64_t> salt = std::nullopt);

// The same under the chain's algorithm and salt (kv/block_hasher.h): what the engine calls.
inline void extend_block_hashes(std::vector<uint64_t>& hashes, std::span<const int32_t> tokens,
                                int32_t block_size, BlockHashChain& chain) {
  chain.extend(hashes, tokens, block_size);
}

// Keys of every full block of `tokens`.
std::vector<uint64_t> hash_token_blocks(std::span<const int32_t> tokens, int32_t block_size,
                                        std::string_view cache_salt = {});

}  // namespace kvtier::kv
