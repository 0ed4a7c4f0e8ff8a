// vLLM's prefix-caching block hashes, pinned to values computed by an independent reference:
// tools/reference/vllm_block_hash_vectors.py (Python hashlib and a hand-written canonical CBOR
// encoder, none of this C++). Regenerate with `python3 tools/reference/vllm_block_hash_vectors.py`.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "kv/block_hash.h"
#include "kv/block_hasher.h"
#include "kv/hash_algo.h"
#include "kv/hash_cbor.h"

namespace kvtier::kv {
namespace {

// The reference's token ids: one block of ids needing 0, 1, 2 and 4 CBOR argument bytes, then
// two blocks of (i * 7919) % 151936.
std::vector<int32_t> reference_tokens() {
  std::vector<int32_t> t = {1, 23, 24,  255,  256,   65535,  65536, 151643,
                            0, 7,  100, 1000, 10000, 100000, 42,    151935};
  for (int i = 0; i < 32; ++i) t.push_back((i * 7919) % 151936);
  return t;
}

std::string hex(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::vector<std::string> hex_keys(const std::vector<uint64_t>& keys) {
  std::vector<std::string> out;
  for (uint64_t k : keys) out.push_back(fmt::format("{:016x}", k));
  return out;
}

std::shared_ptr<const BlockHasher> seeded(HashAlgo algo, std::string seed) {
  return std::make_shared<const BlockHasher>(BlockHashConfig{algo, std::move(seed)});
}

TEST(VllmBlockHash, CborMatchesTheReferenceEncoding) {
  // (bytes(range(32)), (0, 23, 24, 255, 256, 65535, 65536, 2**32, -1, -25), ("salt", None))
  CborWriter w;
  w.array(3);
  std::vector<uint8_t> b(32);
  std::iota(b.begin(), b.end(), uint8_t(0));
  w.byte_string(b);
  const std::vector<int64_t> ints = {0, 23, 24, 255, 256, 65535, 65536, 4294967296LL, -1, -25};
  w.array(ints.size());
  for (int64_t v : ints) w.integer(v);
  w.array(2);
  w.text("salt");
  w.null();
  const std::string expected =
      "835820000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f8a0017181818ff1901"
      "0019ffff1a000100001b0000000100000000203818826473616c74f6";
  EXPECT_EQ(hex(w.bytes()), expected);

  // nlohmann::json::to_cbor gives the same bytes for these values (binary as a byte string,
  // shortest integers), so either would do; the writer exists to avoid a json tree per block.
  nlohmann::json j = nlohmann::json::array(
      {nlohmann::json::binary(b), ints, nlohmann::json::array({"salt", nullptr})});
  const std::vector<uint8_t> via_json = nlohmann::json::to_cbor(j);
  EXPECT_EQ(hex(via_json), expected);
}

struct Vector {
  HashAlgo algo;
  const char* seed;
  const char* salt;
  const char* root;
  std::vector<std::string> keys;
};

// A chain of 3 blocks of 16 tokens, per algorithm, seed ("42", "0", "") and cache_salt.
const std::vector<Vector>& vectors() {
  static const std::vector<Vector> v = {
      {HashAlgo::kSha256Cbor,
       "42",
       "",
       "9fa6eb003f14425eb9c8e6baacfbcaab26257357b829c7bfa74ffcc4f31c1780",
       {"41b7e3f70f063105", "adae7a304b57cc97", "d7379bbd69b8d26d"}},
      {HashAlgo::kSha256Cbor,
       "42",
       "tenant-a",
       "9fa6eb003f14425eb9c8e6baacfbcaab26257357b829c7bfa74ffcc4f31c1780",
       {"4451aef82cd1c922", "8bd736f23ad35932", "d99f2ad9adbe8afe"}},
      {HashAlgo::kSha256Cbor,
       "0",
       "",
       "4e1195df020de59e0d65a33a4279f1183e7ae4e5d980e309f8b55adff2e61c3e",
       {"83e2a0436beacc4c", "7138ae3f4fd4d6bb", "65acd3a64a9796c3"}},
      {HashAlgo::kSha256Cbor,
       "0",
       "tenant-a",
       "4e1195df020de59e0d65a33a4279f1183e7ae4e5d980e309f8b55adff2e61c3e",
       {"d0f8c82d2a7321e9", "52ccf31ebf8f03bf", "1a0a1a82d6d39ee7"}},
      {HashAlgo::kSha256Cbor,
       "",
       "",
       "8d33f520a3c4cef80d2453aef81b612bfe1cb44c8b2025630ad38662763f13d3",
       {"8917be7d22c37507", "ffdafa32ae423a79", "18d84d00986d78f6"}},
      {HashAlgo::kSha256Cbor,
       "",
       "tenant-a",
       "8d33f520a3c4cef80d2453aef81b612bfe1cb44c8b2025630ad38662763f13d3",
       {"7b515f784db63f01", "5b0382c5d2ac62ed", "9cff498341173be0"}},
      {HashAlgo::kSha256Cbor64bit,
       "42",
       "",
       "a74ffcc4f31c1780",
       {"b59153bbf3d7847d", "f0d85aaa114482e1", "db659c65f22675fc"}},
      {HashAlgo::kSha256Cbor64bit,
       "42",
       "tenant-a",
       "a74ffcc4f31c1780",
       {"0c6b3971b4a495dd", "280b0c36786aa09f", "40dad59d925aa426"}},
      {HashAlgo::kSha256Cbor64bit,
       "0",
       "",
       "f8b55adff2e61c3e",
       {"6732ffbeaf950594", "7d74c5f4cdc2be89", "e2c19bb0593964e4"}},
      {HashAlgo::kSha256Cbor64bit,
       "0",
       "tenant-a",
       "f8b55adff2e61c3e",
       {"ca44770306e84087", "a62a3e193669e05e", "d371cf93d43a6daf"}},
      {HashAlgo::kSha256Cbor64bit,
       "",
       "",
       "0ad38662763f13d3",
       {"ec756c6c68ee88de", "5028fbfa705eb17b", "6bb92a5f7c137c47"}},
      {HashAlgo::kSha256Cbor64bit,
       "",
       "tenant-a",
       "0ad38662763f13d3",
       {"961309f594b8588b", "1b2d1678d87caa1d", "c3ca706884b66c71"}},
  };
  return v;
}

TEST(VllmBlockHash, ChainsMatchTheReference) {
  const auto tokens = reference_tokens();
  for (const Vector& v : vectors()) {
    SCOPED_TRACE(fmt::format("{} seed '{}' salt '{}'", hash_algo_name(v.algo), v.seed, v.salt));
    const auto hasher = seeded(v.algo, v.seed);
    const BlockDigest& root = hasher->root();
    EXPECT_EQ(root.size == 0 ? fmt::format("{:016x}", root.value) : hex(root.digest()), v.root);
    EXPECT_EQ(hex_keys(hasher->keys(tokens, 16, v.salt)), v.keys);
  }
}

TEST(VllmBlockHash, Sha256CborChainsOnTheFullDigest) {
  // The third block's whole digest; its key is the digest's last 8 bytes (big-endian).
  const auto tokens = reference_tokens();
  const auto hasher = seeded(HashAlgo::kSha256Cbor, "42");
  BlockDigest d = hasher->root();
  for (size_t i = 0; i < 3; ++i) d = hasher->hash(d, std::span(tokens).subspan(i * 16, 16));
  EXPECT_EQ(hex(d.digest()), "37ac7fec52fc59939a4f961fb74a6ae56d4f63c340b2af8dd7379bbd69b8d26d");
  EXPECT_EQ(d.key(), 0xd7379bbd69b8d26dull);
}

TEST(VllmBlockHash, BlockSizeOtherThan16) {
  const std::vector<int32_t> tokens = {1000, 1001, 1002, 1003, 1004};  // one full block of 4
  EXPECT_EQ(hex_keys(seeded(HashAlgo::kSha256Cbor, "42")->keys(tokens, 4)),
            std::vector<std::string>{"36487384843dad53"});
}

TEST(VllmBlockHash, UnseededRootsAreRandomPerHasher) {
  // vLLM without PYTHONHASHSEED: os.urandom(32), so two engines never share keys.
  const auto tokens = reference_tokens();
  BlockHasher a(BlockHashConfig{HashAlgo::kSha256Cbor, std::nullopt});
  BlockHasher b(BlockHashConfig{HashAlgo::kSha256Cbor, std::nullopt});
  EXPECT_EQ(a.root().size, 32);
  EXPECT_NE(hex(a.root().digest()), hex(b.root().digest()));
  EXPECT_NE(a.keys(tokens, 16), b.keys(tokens, 16));
  EXPECT_NE(a.fingerprint(), b.fingerprint());
  // Seeded: equal in every process.
  EXPECT_EQ(seeded(HashAlgo::kSha256Cbor, "7")->keys(tokens, 16),
            seeded(HashAlgo::kSha256Cbor, "7")->keys(tokens, 16));
  EXPECT_EQ(seeded(HashAlgo::kSha256Cbor, "7")->fingerprint(),
            seeded(HashAlgo::kSha256Cbor, "7")->fingerprint());
  EXPECT_NE(seeded(HashAlgo::kSha256Cbor, "7")->fingerprint(),
            seeded(HashAlgo::kSha256Cbor, "8")->fingerprint());
  EXPECT_NE(seeded(HashAlgo::kSha256Cbor, "7")->fingerprint(),
            seeded(HashAlgo::kSha256Cbor64bit, "7")->fingerprint());
}

TEST(VllmBlockHash, FromEnvironmentReadsPythonHashSeedAsVllmDoes) {
  const auto tokens = reference_tokens();
  ASSERT_EQ(setenv("PYTHONHASHSEED", "42", 1), 0);
  auto h = BlockHasher::from_environment(HashAlgo::kSha256Cbor);
  EXPECT_EQ(hex_keys(h->keys(tokens, 16)), vectors()[0].keys);
  // Set but empty is the seed "", not "unset".
  ASSERT_EQ(setenv("PYTHONHASHSEED", "", 1), 0);
  h = BlockHasher::from_environment(HashAlgo::kSha256Cbor);
  EXPECT_EQ(hex_keys(h->keys(tokens, 16)), vectors()[4].keys);
  ASSERT_EQ(unsetenv("PYTHONHASHSEED"), 0);
  EXPECT_FALSE(BlockHasher::from_environment(HashAlgo::kSha256Cbor)->seed().has_value());
}

TEST(VllmBlockHash, ChainExtendsIncrementallyAndRecoversFromACutBack) {
  const auto tokens = reference_tokens();
  const auto hasher = seeded(HashAlgo::kSha256Cbor, "42");
  BlockHashChain chain(hasher, "tenant-a");
  std::vector<uint64_t> keys;
  extend_block_hashes(keys, std::span(tokens).first(20), 16, chain);
  EXPECT_EQ(keys.size(), 1u);
  extend_block_hashes(keys, tokens, 16, chain);
  EXPECT_EQ(hex_keys(keys), vectors()[1].keys);
  keys.resize(1);  // e.g. a sequence whose later blocks were dropped
  extend_block_hashes(keys, tokens, 16, chain);
  EXPECT_EQ(hex_keys(keys), vectors()[1].keys);
  keys.clear();
  extend_block_hashes(keys, tokens, 16, chain);
  EXPECT_EQ(hex_keys(keys), vectors()[1].keys);
}

TEST(VllmBlockHash, DefaultIsXxh3AsBefore) {
  const auto tokens = reference_tokens();
  BlockHashChain chain;
  std::vector<uint64_t> keys;
  extend_block_hashes(keys, tokens, 16, chain);
  EXPECT_EQ(keys, hash_token_blocks(tokens, 16));
  BlockHashChain salted(nullptr, "s");
  keys.clear();
  extend_block_hashes(keys, tokens, 16, salted);
  EXPECT_EQ(keys, hash_token_blocks(tokens, 16, "s"));
  EXPECT_EQ(BlockHasher::default_hasher()->keys(tokens, 16, "s"), keys);
}

TEST(VllmBlockHash, AlgorithmNames) {
  for (auto algo : {HashAlgo::kXxh3_64, HashAlgo::kSha256Cbor, HashAlgo::kSha256Cbor64bit}) {
    auto parsed = parse_hash_algo(hash_algo_name(algo));
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(*parsed, algo);
  }
  auto pickle = parse_hash_algo("sha256");
  ASSERT_FALSE(pickle);
  EXPECT_NE(pickle.error().message().find("pickle"), std::string::npos);
  EXPECT_NE(pickle.error().message().find("sha256_cbor"), std::string::npos);
  EXPECT_FALSE(parse_hash_algo("xxhash"));
  EXPECT_FALSE(parse_hash_algo("builtin"));
  auto unknown = parse_hash_algo("md5");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("'md5'"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::kv
