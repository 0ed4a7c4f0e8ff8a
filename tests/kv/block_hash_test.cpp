#include "kv/block_hash.h"

#include <gtest/gtest.h>

#include <numeric>

namespace kvtier::kv {
namespace {

std::vector<int32_t> iota_tokens(int n, int start = 0) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), start);
  return t;
}

TEST(BlockHash, OnlyFullBlocksAreHashed) {
  auto tokens = iota_tokens(40);
  EXPECT_EQ(hash_token_blocks(tokens, 16).size(), 2u);
  EXPECT_EQ(hash_token_blocks(std::span(tokens).first(15), 16).size(), 0u);
  EXPECT_EQ(hash_token_blocks(std::span(tokens).first(32), 16).size(), 2u);
}

TEST(BlockHash, KeysChainThroughTheParent) {
  auto tokens = iota_tokens(48);
  auto hashes = hash_token_blocks(tokens, 16);
  ASSERT_EQ(hashes.size(), 3u);
  EXPECT_EQ(hashes[0], hash_block(kRootBlockHash, std::span(tokens).first(16)));
  EXPECT_EQ(hashes[1], hash_block(hashes[0], std::span(tokens).subspan(16, 16)));
  EXPECT_EQ(hashes[2], hash_block(hashes[1], std::span(tokens).subspan(32, 16)));
}

TEST(BlockHash, SameBlockAfterDifferentPrefixHasDifferentKey) {
  auto a = iota_tokens(32);
  auto b = a;
  b[3] = 999;  // first block differs, second identical
  auto ha = hash_token_blocks(a, 16);
  auto hb = hash_token_blocks(b, 16);
  EXPECT_NE(ha[0], hb[0]);
  EXPECT_NE(ha[1], hb[1]);
}

TEST(BlockHash, SharedPrefixSharesKeys) {
  auto a = iota_tokens(48);
  auto b = a;
  b[40] = 7;  // only the third block differs
  auto ha = hash_token_blocks(a, 16);
  auto hb = hash_token_blocks(b, 16);
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_EQ(ha[1], hb[1]);
  EXPECT_NE(ha[2], hb[2]);
}

TEST(BlockHash, CacheSaltChangesEveryKey) {
  auto tokens = iota_tokens(32);
  auto plain = hash_token_blocks(tokens, 16);
  auto salted = hash_token_blocks(tokens, 16, "tenant-a");
  auto other = hash_token_blocks(tokens, 16, "tenant-b");
  EXPECT_NE(plain[0], salted[0]);
  EXPECT_NE(plain[1], salted[1]);  // through the chain
  EXPECT_NE(salted[0], other[0]);
  EXPECT_EQ(salted, hash_token_blocks(tokens, 16, "tenant-a"));
  EXPECT_FALSE(salt_key("").has_value());
}

TEST(BlockHash, ExtendIsIncremental) {
  auto tokens = iota_tokens(70);
  std::vector<uint64_t> hashes;
  extend_block_hashes(hashes, std::span(tokens).first(20), 16);
  EXPECT_EQ(hashes.size(), 1u);
  extend_block_hashes(hashes, std::span(tokens).first(64), 16);
  EXPECT_EQ(hashes, hash_token_blocks(std::span(tokens).first(64), 16));
  extend_block_hashes(hashes, tokens, 16);
  EXPECT_EQ(hashes.size(), 4u);
}

TEST(BlockHash, BlockSizeAndTokenOrderMatter) {
  auto tokens = iota_tokens(32);
  EXPECT_NE(hash_token_blocks(tokens, 16)[0], hash_token_blocks(tokens, 8)[0]);
  auto swapped = tokens;
  std::swap(swapped[0], swapped[1]);
  EXPECT_NE(hash_token_blocks(tokens, 16)[0], hash_token_blocks(swapped, 16)[0]);
}

TEST(BlockHash, LargeBlocksUseTheSameDefinition) {
  auto tokens = iota_tokens(600);
  auto hashes = hash_token_blocks(tokens, 300);
  ASSERT_EQ(hashes.size(), 2u);
  EXPECT_EQ(hashes[1], hash_block(hashes[0], std::span(tokens).subspan(300, 300)));
}

}  // namespace
}  // namespace kvtier::kv
