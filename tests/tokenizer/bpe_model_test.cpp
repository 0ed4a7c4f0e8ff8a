#include "tokenizer/bpe_model.h"

#include <random>
#include <set>

#include <gtest/gtest.h>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

// A vocabulary of the 256 byte characters plus `extra` tokens (byte-level spellings).
BpeConfig byte_config(const std::vector<std::pair<std::string, std::string>>& merges) {
  BpeConfig config;
  for (int b = 0; b < 256; ++b) config.vocab.emplace(to_byte_level(std::string(1, static_cast<char>(b))), b);
  int32_t next = 256;
  for (const auto& [l, r] : merges) {
    if (config.vocab.emplace(l + r, next).second) ++next;
  }
  config.merges = merges;
  return config;
}

std::vector<std::string> spell(const BpeModel& model, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) {
    for (const auto& [token, tid] : model.vocab()) {
      if (tid == id) out.push_back(token);
    }
  }
  return out;
}

std::vector<int32_t> encode(const BpeModel& model, std::string_view bytes) {
  std::vector<int32_t> ids;
  model.encode_word(bytes, ids);
  return ids;
}

// The textbook BPE: repeatedly merge the lowest-ranked adjacent pair, leftmost first.
std::vector<std::string> naive_bpe(const std::vector<std::pair<std::string, std::string>>& merges, std::string_view bytes) {
  std::vector<std::string> symbols;
  for (char c : bytes) symbols.push_back(to_byte_level(std::string(1, c)));
  for (;;) {
    size_t best_rank = merges.size(), best_pos = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      for (size_t r = 0; r < best_rank; ++r) {
        if (merges[r].first == symbols[i] && merges[r].second == symbols[i + 1]) {
          best_rank = r;
          best_pos = i;
          break;
        }
      }
    }
    if (best_rank == merges.size()) return symbols;
    symbols[best_pos] += symbols[best_pos + 1];
    symbols.erase(symbols.begin() + static_cast<ptrdiff_t>(best_pos) + 1);
  }
}

TEST(BpeModel, AppliesMergesByRankThenLeftmost) {
  // "ab" ranks before "bc": "abc" -> ab + c; "aaa" -> aa + a (leftmost first).
  auto model = BpeModel::build(byte_config({{"a", "b"}, {"b", "c"}, {"a", "a"}}), "test");
  ASSERT_TRUE(model) << model.error().message();
  EXPECT_EQ(spell(**model, encode(**model, "abc")), (std::vector<std::string>{"ab", "c"}));
  EXPECT_EQ(spell(**model, encode(**model, "bca")), (std::vector<std::string>{"bc", "a"}));
  EXPECT_EQ(spell(**model, encode(**model, "aaa")), (std::vector<std::string>{"aa", "a"}));
  EXPECT_EQ(spell(**model, encode(**model, "aaaa")), (std::vector<std::string>{"aa", "aa"}));
}

TEST(BpeModel, MergesAcrossMergedSymbols) {
  auto model = BpeModel::build(byte_config({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}}), "test");
  ASSERT_TRUE(model);
  EXPECT_EQ(spell(**model, encode(**model, "hello")), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(spell(**model, encode(**model, " w")), (std::vector<std::string>{"Ġw"}));
}

TEST(BpeModel, MatchesTextbookBpeOnRandomWords) {
  // Random merges over a small alphabet, each merged token made by one rule (as BPE training does).
  std::mt19937 rng(42);
  std::vector<std::string> tokens = {"a", "b", "c", "d"};
  std::vector<std::pair<std::string, std::string>> merges;
  std::set<std::string> made(tokens.begin(), tokens.end());
  while (merges.size() < 60) {
    const std::string& l = tokens[rng() % tokens.size()];
    const std::string& r = tokens[rng() % tokens.size()];
    if (l.size() + r.size() > 6 || made.count(l + r)) continue;
    merges.emplace_back(l, r);
    made.insert(l + r);
    tokens.push_back(l + r);
  }
  auto model = BpeModel::build(byte_config(merges), "test");
  ASSERT_TRUE(model) << model.error().message();
  for (int trial = 0; trial < 300; ++trial) {
    std::string word;
    const size_t n = 1 + rng() % 30;
    for (size_t i = 0; i < n; ++i) word += static_cast<char>('a' + rng() % 4);
    // Twice: the second answer comes from the cache.
    for (int pass = 0; pass < 2; ++pass) ASSERT_EQ(spell(**model, encode(**model, word)), naive_bpe(merges, word)) << word;
  }
}

TEST(BpeModel, LongWordsStayLinearithmic) {
  auto model = BpeModel::build(byte_config({{"a", "a"}, {"aa", "aa"}, {"aaaa", "aaaa"}}), "test");
  ASSERT_TRUE(model);
  const std::string word(1 << 18, 'a');  // a quadratic merge loop would not finish in the test's time
  const auto ids = encode(**model, word);
  EXPECT_EQ(ids.size(), word.size() / 8);
}

TEST(BpeModel, UnknownBytesUseTheUnknownTokenOrAreDropped) {
  BpeConfig config = byte_config({});
  config.vocab.erase(to_byte_level("x"));
  config.vocab.erase(to_byte_level("y"));
  {
    auto model = BpeModel::build(config, "test");
    ASSERT_TRUE(model);
    EXPECT_EQ(encode(**model, "axyb").size(), 2u);  // no unknown token: dropped
  }
  config.vocab.emplace("<unk>", 999);
  config.unk_token = "<unk>";
  {
    auto model = BpeModel::build(config, "test");
    ASSERT_TRUE(model);
    EXPECT_EQ(encode(**model, "axyb"), (std::vector<int32_t>{'a', 999, 999, 'b'}));
  }
  config.fuse_unk = true;
  {
    auto model = BpeModel::build(config, "test");
    ASSERT_TRUE(model);
    EXPECT_EQ(encode(**model, "axyb"), (std::vector<int32_t>{'a', 999, 'b'}));
  }
}

TEST(BpeModel, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  BpeConfig config = byte_config({{"a", "b"}});
  config.vocab.emplace("abc", 500);
  config.ignore_merges = true;
  auto model = BpeModel::build(config, "test");
  ASSERT_TRUE(model);
  EXPECT_EQ(encode(**model, "abc"), (std::vector<int32_t>{500}));
  EXPECT_EQ(spell(**model, encode(**model, "abd")), (std::vector<std::string>{"ab", "d"}));
}

TEST(BpeModel, RejectsMergesOutsideTheVocabulary) {
  BpeConfig config = byte_config({{"a", "b"}});
  config.merges.emplace_back("zz", "q");
  auto model = BpeModel::build(config, "tokenizer.json");
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().message().find("model.merges[1]"), std::string::npos) << model.error().message();
  EXPECT_NE(model.error().message().find("'zz'"), std::string::npos);

  BpeConfig missing_result = byte_config({});
  missing_result.merges.emplace_back("a", "b");  // "ab" not in the vocabulary
  auto model2 = BpeModel::build(missing_result, "tokenizer.json");
  ASSERT_FALSE(model2);
  EXPECT_NE(model2.error().message().find("merged token 'ab'"), std::string::npos) << model2.error().message();
}

}  // namespace
}  // namespace kvtier::tokenizer
