#pragma once
// Block keys under a chosen prefix-caching hash algorithm (kv/hash_algo.h) and hash seed, as
// vLLM computes them (vllm/v1/core/kv_cache_utils.py: init_none_hash, hash_block_tokens,
// generate_block_hash_extra_keys, maybe_convert_block_hash). The engine keys its blocks, and the
// router predicts an engine's keys, with the same BlockHasher; KV events carry the 64-bit keys.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kv/hash_algo.h"

namespace kvtier::kv {

// One block's hash as the chain hands it to the next block: vLLM's digest bytes (32 for SHA-256,
// and 32 random bytes for an unseeded root), or a 64-bit integer (xxh3_64, sha256_cbor_64bit).
struct BlockDigest {
  std::array<uint8_t, 32> bytes{};
  uint8_t size = 0;  // bytes used; 0: the integer form, `value`
  uint64_t value = 0;

  // The block's 64-bit key: `value`, or int.from_bytes(digest, "big") & (2**64 - 1), the last 8
  // bytes big-endian, which is what vLLM puts in KV events (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES,
  // on by default).
  uint64_t key() const;
  std::span<const uint8_t> digest() const { return {bytes.data(), size}; }
};

struct BlockHashConfig {
  HashAlgo algo = HashAlgo::kXxh3_64;
  // vLLM's PYTHONHASHSEED: the root is the algorithm's hash of this string (CBOR text). Unset:
  // a random root, different in every process, as vLLM does. xxh3_64 ignores it.
  std::optional<std::string> seed;
};

// Immutable once built: shared by the engine thread and the router's connections.
class BlockHasher {
 public:
  explicit BlockHasher(BlockHashConfig config);

  // The default, xxh3_64, shared.
  static std::shared_ptr<const BlockHasher> default_hasher();
  // `algo` seeded from PYTHONHASHSEED as vLLM's init_none_hash reads it: any value that is set,
  // "" and "random" included, is the seed string; unset gives a random root and, for a seeded
  // algorithm, vLLM's warning that keys will not be reproducible across processes.
  static std::shared_ptr<const BlockHasher> from_environment(HashAlgo algo);

  HashAlgo algo() const { return config_.algo; }
  const std::optional<std::string>& seed() const { return config_.seed; }
  // vLLM's NONE_HASH: the parent of every sequence's first block.
  const BlockDigest& root() const { return root_; }

  // The block after `parent` holding `tokens`; a non-empty cache_salt is its one extra key
  // (vLLM mixes the salt into the first block only: callers pass it for block 0).
  BlockDigest hash(const BlockDigest& parent, std::span<const int32_t> tokens,
                   std::string_view cache_salt = {}) const;

  // A key that names this algorithm and root without revealing the root: the key of an empty
  // block after it. Published as a vllm:cache_config_info label so a router can tell that an
  // engine's seed differs from its own.
  uint64_t fingerprint() const;

  // Keys of every full block of `tokens`.
  std::vector<uint64_t> keys(std::span<const int32_t> tokens, int32_t block_size,
                             std::string_view cache_salt = {}) const;

 private:
  BlockHashConfig config_;
  BlockDigest root_;
};

// One sequence's position in its hash chain: the hasher, its cache_salt, and the digest of the
// last block keyed so far (the next block's parent, which for sha256_cbor is more than the 64-bit
// key a sequence keeps). Owned by whoever owns the sequence; not thread-safe.
class BlockHashChain {
 public:
  BlockHashChain() = default;  // xxh3_64, no salt
  BlockHashChain(std::shared_ptr<const BlockHasher> hasher, std::string cache_salt);

  const BlockHasher& hasher() const;
  const std::string& cache_salt() const { return salt_; }

  // Appends the keys of the full blocks of `tokens` that `hashes` does not hold yet
  // (hashes[i] names tokens [i * block_size, (i + 1) * block_size)). A sequence that grows pays
  // only for its new blocks; if `hashes` was cut back, the chain is walked again from the root.
  void extend(std::vector<uint64_t>& hashes, std::span<const int32_t> tokens, int32_t block_size);

 private:
  std::shared_ptr<const BlockHasher> hasher_;  // null: default_hasher()
  std::string salt_;
  BlockDigest last_;  // digest of block num_hashed_ - 1
  size_t num_hashed_ = 0;
};

}  // namespace kvtier::kv
