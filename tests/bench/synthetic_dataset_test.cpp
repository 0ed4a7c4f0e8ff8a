#include "bench/synthetic_dataset.h"

#include <gtest/gtest.h>

#include <set>

#include "common/paths.h"

namespace kvtier::bench {
namespace {

std::shared_ptr<const TokenCodec> qwen3() {
  static auto codec = [] {
    auto c = load_token_codec(default_tokenizer_dir());
    EXPECT_TRUE(c.has_value()) << c.error().message();
    return c.has_value() ? std::move(c).value() : nullptr;
  }();
  return codec;
}

size_t count_tokens(const std::string& text) {
  return qwen3()->encode(text).value().size();
}

TEST(SyntheticDataset, TextHitsExactTokenCounts) {
  ASSERT_NE(qwen3(), nullptr);
  Random rng(7);
  for (int64_t n : {1, 2, 7, 64, 128, 1000, 4096}) {
    auto text = make_exact_token_text(*qwen3(), rng, "1 5 ", n);
    ASSERT_TRUE(text.has_value()) << text.error().message();
    EXPECT_EQ(count_tokens(*text), static_cast<size_t>(n)) << "n=" << n;
    if (n >= 8) EXPECT_TRUE(text->starts_with("1 5 ")) << *text;
  }
  auto none = make_exact_token_text(*qwen3(), rng, "x", 0);
  EXPECT_EQ(*none, "");
}

TEST(SyntheticDataset, ConversationsPrefixesAndTurns) {
  ASSERT_NE(qwen3(), nullptr);
  auto config = parse_data_config(
      R"({"prompt_tokens":128,"output_tokens":32,"prefix_tokens":300,"prefix_count":2,"turns":3})");
  ASSERT_TRUE(config.has_value());
  auto dataset = SyntheticDataset::create(*config, qwen3(), 889, 1);
  ASSERT_TRUE(dataset.has_value()) << dataset.error().message();

  std::set<std::string> prefixes;
  std::set<std::string> prompts;
  std::vector<std::vector<int32_t>> prompt_ids;
  for (int i = 0; i < 12; ++i) {
    auto c = (*dataset)->next();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->index, i);
    ASSERT_EQ(c->turns.size(), 3u);
    EXPECT_EQ(c->prefix_tokens, 300);
    EXPECT_EQ(count_tokens(*c->prefix), 300u);
    prefixes.insert(*c->prefix);
    for (const auto& t : c->turns) {
      EXPECT_EQ(t.prompt_tokens, 128);
      EXPECT_EQ(*t.output_tokens, 32);
      EXPECT_EQ(count_tokens(t.prompt), 128u);
      prompts.insert(t.prompt);
      prompt_ids.push_back(qwen3()->encode(t.prompt).value());
    }
  }
  // prefix_count 2: two shared prefixes, both in use.
  EXPECT_EQ(prefixes.size(), 2u);
  // 36 distinct prompts, each starting with its own marker "1 <sample> ": any two differ within
  // their first few tokens, so they share no cacheable prefix.
  EXPECT_EQ(prompts.size(), 36u);
  for (size_t a = 0; a < prompt_ids.size(); ++a) {
    for (size_t b = a + 1; b < prompt_ids.size(); ++b) {
      size_t same = 0;
      while (same < 8 && prompt_ids[a][same] == prompt_ids[b][same]) ++same;
      EXPECT_LT(same, 8u) << a << " vs " << b;
    }
  }
}

TEST(SyntheticDataset, SeedsAndIterationsAndRanges) {
  ASSERT_NE(qwen3(), nullptr);
  auto config = parse_data_config(
      "prompt_tokens=40,prompt_tokens_stdev=10,prompt_tokens_min=30,prompt_tokens_max=50,"
      "output_tokens=8");
  ASSERT_TRUE(config.has_value()) << config.error().message();
  auto a = std::move(SyntheticDataset::create(*config, qwen3(), 42, 1)).value();
  auto b = std::move(SyntheticDataset::create(*config, qwen3(), 42, 1)).value();
  auto c = std::move(SyntheticDataset::create(*config, qwen3(), 42, 2)).value();
  std::set<int64_t> lengths;
  for (int i = 0; i < 20; ++i) {
    auto x = a->next().value();
    auto y = b->next().value();
    auto z = c->next().value();
    EXPECT_EQ(x.turns[0].prompt, y.turns[0].prompt);  // same seed, same data
    EXPECT_NE(x.turns[0].prompt, z.turns[0].prompt);  // next benchmark, new data
    EXPECT_TRUE(z.turns[0].prompt.starts_with("2 ")) << z.turns[0].prompt;
    const int64_t n = x.turns[0].prompt_tokens;
    EXPECT_GE(n, 30);
    EXPECT_LE(n, 50);
    EXPECT_EQ(count_tokens(x.turns[0].prompt), static_cast<size_t>(n));
    lengths.insert(n);
    EXPECT_TRUE(x.prefix->empty());
  }
  EXPECT_GT(lengths.size(), 3u);  // a spread, not one length
}

}  // namespace
}  // namespace kvtier::bench
