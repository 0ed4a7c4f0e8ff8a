#include "tokenizer/regex_splitter.h"

#include <gtest/gtest.h>

namespace kvtier::tokenizer {
namespace {

// Qwen3's pre-tokenizer pattern, from its tokenizer.json.
constexpr std::string_view kQwen3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::vector<std::string> split(const RegexSplitter& s, std::string_view text) {
  std::vector<std::string_view> pieces;
  EXPECT_TRUE(s.split(text, pieces).is_ok());
  return {pieces.begin(), pieces.end()};
}

using Pieces = std::vector<std::string>;

TEST(RegexSplitter, SplitsTheWayTheQwen3PatternReads) {
  auto s = RegexSplitter::compile(kQwen3, "test");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(split(**s, "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split(**s, "2024"), (Pieces{"2", "0", "2", "4"}));  // digits one by one
  EXPECT_EQ(split(**s, "I'M we'LL"), (Pieces{"I", "'M", " we", "'LL"}));  // contractions, any case
  EXPECT_EQ(split(**s, "a  b"), (Pieces{"a", " ", " b"}));  // the last space joins the word
  EXPECT_EQ(split(**s, "a\n\nb"), (Pieces{"a", "\n\n", "b"}));
  EXPECT_EQ(split(**s, "x  \n  y"), (Pieces{"x", "  \n", " ", " y"}));
  EXPECT_EQ(split(**s, "end.  "), (Pieces{"end", ".", "  "}));
  EXPECT_EQ(split(**s, "!!\n\nx"), (Pieces{"!!\n\n", "x"}));
  EXPECT_EQ(split(**s, "\xE4\xB8\xAD\xE6\x96\x87"), (Pieces{"\xE4\xB8\xAD\xE6\x96\x87"}));  // letters
}

// Oniguruma's \s (what Hugging Face runs) is Unicode White_Space; PCRE2's also takes U+180E.
TEST(RegexSplitter, WhitespaceIsUnicodeWhiteSpace) {
  auto s = RegexSplitter::compile(R"(\s+|\S+)", "test");
  ASSERT_TRUE(s);
  EXPECT_EQ(split(**s, "a\xE1\xA0\x8E" "b"), (Pieces{"a\xE1\xA0\x8E" "b"}));  // U+180E is not a space
  EXPECT_EQ(split(**s, "a\xE3\x80\x80" "b"), (Pieces{"a", "\xE3\x80\x80", "b"}));  // U+3000 is
  EXPECT_EQ(split(**s, "a\xC2\x85" "b"), (Pieces{"a", "\xC2\x85", "b"}));          // U+0085 is
  EXPECT_EQ(RegexSplitter::translate(R"([^\s\p{L}])"),
            R"([^\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\p{L}])");
  EXPECT_EQ(RegexSplitter::translate(R"([\]\s])"),
            R"([\]\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}])");
}

TEST(RegexSplitter, KeepsTheGapsBetweenMatches) {
  auto s = RegexSplitter::compile("[0-9]+", "test");
  ASSERT_TRUE(s);
  EXPECT_EQ(split(**s, "ab12cd345"), (Pieces{"ab", "12", "cd", "345"}));
  EXPECT_EQ(split(**s, "none"), (Pieces{"none"}));
  EXPECT_TRUE(split(**s, "").empty());
}

TEST(RegexSplitter, EmptyMatchesMakeNoPieces) {
  auto s = RegexSplitter::compile("x*", "test");
  ASSERT_TRUE(s);
  EXPECT_EQ(split(**s, "abxxc"), (Pieces{"ab", "xx", "c"}));
}

TEST(RegexSplitter, HandlesVeryLongRunsWithoutRunningOutOfStack) {
  auto s = RegexSplitter::compile(kQwen3, "test");
  ASSERT_TRUE(s);
  const std::string spaces(1 << 20, ' ');
  EXPECT_EQ(split(**s, spaces + "x"), (Pieces{spaces.substr(1), " x"}));
  std::string mixed;
  for (int i = 0; i < 100000; ++i) mixed += " \t";
  EXPECT_EQ(split(**s, mixed + "\n").size(), 1u);
}

TEST(RegexSplitter, RejectsBadPatternsNamingThem) {
  auto s = RegexSplitter::compile("(unclosed", "tokenizer.json: pre_tokenizer");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("tokenizer.json: pre_tokenizer"), std::string::npos);
  EXPECT_NE(s.error().message().find("(unclosed"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::tokenizer
