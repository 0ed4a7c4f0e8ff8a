#include "kv/hash_algo.h"

#include <array>
#include <utility>

namespace kvtier::kv {
namespace {

constexpr std::array<std::pair<std::string_view, HashAlgo>, 3> kAlgos = {{
    {"xxh3_64", HashAlgo::kXxh3_64},
    {"sha256_cbor", HashAlgo::kSha256Cbor},
    {"sha256_cbor_64bit", HashAlgo::kSha256Cbor64bit},
}};

}  // namespace

Expected<HashAlgo> parse_hash_algo(std::string_view name) {
  for (const auto& [n, algo] : kAlgos) {
    if (n == name) return algo;
  }
  if (name == "sha256" || name == "xxhash") {
    // vLLM hashes pickle.dumps(..., protocol=HIGHEST_PROTOCOL) for these: the bytes are whatever
    // CPython's pickler chooses (opcodes, framing, memo entries), which no format spec fixes and
    // vLLM itself documents as Python-only. sha256_cbor exists for cross-language use.
    return invalid_argument(
        "prefix caching hash algorithm '{}' hashes a Python pickle, which only CPython's pickler "
        "reproduces; use sha256_cbor (vLLM >= 0.11, same SHA-256 over canonical CBOR) and run "
        "the vLLM engines with --prefix-caching-hash-algo sha256_cbor. Choices: {}",
        name, hash_algo_choices());
  }
  if (name == "xxhash_cbor") {
    return invalid_argument(
        "prefix caching hash algorithm 'xxhash_cbor' (XXH3-128 over CBOR, vLLM > 0.11) is not "
        "implemented; use sha256_cbor. Choices: {}",
        hash_algo_choices());
  }
  if (name == "builtin") {
    return invalid_argument(
        "prefix caching hash algorithm 'builtin' is Python's hash(), which differs per process; "
        "choices: {}",
        hash_algo_choices());
  }
  return invalid_argument("unknown prefix caching hash algorithm '{}'; choices: {}", name,
                          hash_algo_choices());
}

std::string_view hash_algo_name(HashAlgo algo) {
  for (const auto& [n, a] : kAlgos) {
    if (a == algo) return n;
  }
  return "unknown";
}

std::string hash_algo_choices() {
  std::string out;
  for (const auto& [n, a] : kAlgos) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool hash_algo_is_seeded(HashAlgo algo) { return algo != HashAlgo::kXxh3_64; }

}  // namespace kvtier::kv
