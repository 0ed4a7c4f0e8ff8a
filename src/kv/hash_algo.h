#pragma once
// The prefix-caching hash algorithms, by vLLM's --prefix-caching-hash-algo names
// (vllm/config/cache.py PrefixCachingHashAlgo; vllm/utils/hashing.py get_hash_fn_by_name).
#include <string>
#include <string_view>

#include "common/status.h"

namespace kvtier::kv {

enum class HashAlgo {
  // kvtier's own: XXH3-64 over (parent key, token ids, extra keys) as raw little-endian bytes,
  // rooted at 0. Fast, and unseeded; nothing outside kvtier computes it.
  kXxh3_64,
  // vLLM >= 0.11: SHA-256 over canonical CBOR of (parent digest bytes, token ids, extra keys),
  // chained on the full 32-byte digest, rooted at sha256_cbor(PYTHONHASHSEED).
  kSha256Cbor,
  // vLLM 0.10 (and llm-d-kv-cache-manager's SHA-256 token processor): the same, but every digest
  // is cut to its last 8 bytes before it becomes the next block's parent (a CBOR integer).
  kSha256Cbor64bit,
};

inline constexpr std::string_view kDefaultHashAlgoName = "xxh3_64";

// Accepts "xxh3_64", "sha256_cbor", "sha256_cbor_64bit". vLLM's other names are refused with the
// reason ("sha256" and "xxhash" hash a Python pickle, "builtin" Python's per-process hash()).
Expected<HashAlgo> parse_hash_algo(std::string_view name);
std::string_view hash_algo_name(HashAlgo algo);
// "xxh3_64, sha256_cbor, sha256_cbor_64bit": for help texts and errors.
std::string hash_algo_choices();
// Whether the algorithm's root comes from the hash seed (PYTHONHASHSEED / hashSeed).
bool hash_algo_is_seeded(HashAlgo algo);

}  // namespace kvtier::kv
