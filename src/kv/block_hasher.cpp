#include "kv/block_hasher.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "kv/block_hash.h"
#include "kv/hash_cbor.h"

namespace kvtier::kv {
namespace {

uint64_t last_8_bytes(std::span<const uint8_t> digest) {
  uint64_t v = 0;
  for (size_t i = digest.size() >= 8 ? digest.size() - 8 : 0; i < digest.size(); ++i) {
    v = (v << 8) | digest[i];
  }
  return v;
}

BlockDigest sha256_of(std::span<const uint8_t> data) {
  BlockDigest d;
  d.size = SHA256_DIGEST_LENGTH;
  SHA256(data.data(), data.size(), d.bytes.data());
  return d;
}

// vLLM's os.urandom(32) for an unseeded root.
BlockDigest random_root() {
  std::random_device rd;
  BlockDigest d;
  d.size = 32;
  for (size_t i = 0; i < d.bytes.size(); i += 4) {
    const uint32_t r = rd();
    for (size_t j = 0; j < 4; ++j) d.bytes[i + j] = uint8_t(r >> (8 * j));
  }
  return d;
}

// The cbor writer is per thread: hashing is called from the engine thread and from every
// router connection, and a block's payload is a few dozen bytes that one buffer reuses.
CborWriter& thread_writer() {
  thread_local CborWriter w;
  w.clear();
  return w;
}

}  // namespace

uint64_t BlockDigest::key() const { return size == 0 ? value : last_8_bytes(digest()); }

BlockHasher::BlockHasher(BlockHashConfig config) : config_(std::move(config)) {
  switch (config_.algo) {
    case HashAlgo::kXxh3_64:
      root_.value = kRootBlockHash;
      return;
    case HashAlgo::kSha256Cbor:
    case HashAlgo::kSha256Cbor64bit: {
      if (!config_.seed) {
        root_ = random_root();
        if (config_.algo == HashAlgo::kSha256Cbor64bit) {
          // vLLM 0.10 drew a 256-bit integer; any root nobody else can reproduce is as good.
          root_ = BlockDigest{.value = root_.key()};
        }
        return;
      }
      CborWriter& w = thread_writer();
      w.text(*config_.seed);
      root_ = sha256_of(w.bytes());
      if (config_.algo == HashAlgo::kSha256Cbor64bit) root_ = BlockDigest{.value = root_.key()};
      return;
    }
  }
}

std::shared_ptr<const BlockHasher> BlockHasher::default_hasher() {
  static const auto hasher = std::make_shared<const BlockHasher>(BlockHashConfig{});
  return hasher;
}

std::shared_ptr<const BlockHasher> BlockHasher::from_environment(HashAlgo algo) {
  BlockHashConfig config;
  config.algo = algo;
  if (const char* seed = std::getenv("PYTHONHASHSEED")) config.seed = seed;
  if (!config.seed && hash_algo_is_seeded(algo)) {
    spdlog::warn(
        "PYTHONHASHSEED is not set. This will lead to non-reproducible block-hashes when using "
        "CBOR-based hash functions such as {}: routers and other engines cannot predict this "
        "engine's block keys. Consider setting PYTHONHASHSEED to a fixed value.",
        hash_algo_name(algo));
  }
  return std::make_shared<const BlockHasher>(std::move(config));
}

uint64_t BlockHasher::fingerprint() const { return hash(root_, {}).key(); }

BlockDigest BlockHasher::hash(const BlockDigest& parent, std::span<const int32_t> tokens,
                              std::string_view cache_salt) const {
  if (config_.algo == HashAlgo::kXxh3_64) {
    const std::optional<uint64_t> salt = salt_key(cache_salt);
    BlockDigest d;
    if (salt) {
      const uint64_t extra[1] = {*salt};
      d.value = hash_block(parent.value, tokens, extra);
    } else {
      d.value = hash_block(parent.value, tokens);
    }
    return d;
  }
  // hash_function((parent_block_hash, tuple(curr_block_token_ids), extra_keys))
  CborWriter& w = thread_writer();
  w.array(3);
  if (parent.size == 0) {
    w.unsigned_integer(parent.value);
  } else {
    w.byte_string(parent.digest());
  }
  w.array(tokens.size());
  for (int32_t t : tokens) w.integer(t);
  if (cache_salt.empty()) {
    w.null();
  } else {
    w.array(1);
    w.text(cache_salt);
  }
  BlockDigest d = sha256_of(w.bytes());
  if (config_.algo == HashAlgo::kSha256Cbor64bit) d = BlockDigest{.value = d.key()};
  return d;
}

std::vector<uint64_t> BlockHasher::keys(std::span<const int32_t> tokens, int32_t block_size,
                                        std::string_view cache_salt) const {
  std::vector<uint64_t> out;
  if (block_size <= 0) return out;
  const size_t n = tokens.size() / size_t(block_size);
  out.reserve(n);
  BlockDigest parent = root_;
  for (size_t i = 0; i < n; ++i) {
    parent = hash(parent, tokens.subspan(i * size_t(block_size), size_t(block_size)),
                  i == 0 ? cache_salt : std::string_view());
    out.push_back(parent.key());
  }
  return out;
}

BlockHashChain::BlockHashChain(std::shared_ptr<const BlockHasher> hasher, std::string cache_salt)
    : hasher_(std::move(hasher)), salt_(std::move(cache_salt)) {}

const BlockHasher& BlockHashChain::hasher() const {
  return hasher_ ? *hasher_ : *BlockHasher::default_hasher();
}

void BlockHashChain::extend(std::vector<uint64_t>& hashes, std::span<const int32_t> tokens,
                            int32_t block_size) {
  const BlockHasher& h = hasher();
  const size_t bs = size_t(block_size);
  const size_t full = tokens.size() / bs;
  if (hashes.size() != num_hashed_) {
    // The caller dropped or replaced keys: find the parent of the first missing block again.
    const size_t have = std::min(hashes.size(), full);
    hashes.resize(have);
    last_ = h.root();
    for (size_t i = 0; i < have; ++i) {
      last_ = h.hash(last_, tokens.subspan(i * bs, bs), i == 0 ? salt_ : std::string_view());
    }
    num_hashed_ = have;
  }
  for (size_t i = hashes.size(); i < full; ++i) {
    const BlockDigest& parent = i == 0 ? h.root() : last_;
    last_ = h.hash(parent, tokens.subspan(i * bs, bs), i == 0 ? salt_ : std::string_view());
    hashes.push_back(last_.key());
  }
  num_hashed_ = hashes.size();
}

}  // namespace kvtier::kv
