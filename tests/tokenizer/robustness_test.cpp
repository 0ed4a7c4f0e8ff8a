// Random and hostile input gets an answer (a result or an error), never a crash or a hang. Most
// useful under the sanitizers.
#include <random>

#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

TEST(Robustness, EncodeAcceptsAnyValidAndRejectsAnyInvalidBytes) {
  auto tok = testing::qwen3();
  ASSERT_TRUE(tok);
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 0x20 + rng() % 0x60);
    auto ids = tok->encode(bytes);
    ASSERT_EQ(ids.has_value(), find_invalid_utf8(bytes) == std::string_view::npos);
    if (ids) {
      ASSERT_EQ(tok->decode(*ids), nfc(bytes));
    }
  }
}

TEST(Robustness, TemplateParserSurvivesTokenSoup) {
  const std::vector<std::string> pieces = {
      "{{", "}}", "{%", "%}", "{#", "#}", "-", "+", "if", "for", "in", "endif", "endfor", "else", "set", "=", "x",
      "messages", "|", "length", "(", ")", "[", "]", "{", "}", ",", ":", ".", "'s'", "\"", "1", "2.5", "not",
      "and", "is", "defined", "macro", "endmacro", "raw", "endraw", " ", "\n", "~", "*", "**", "//", "loop.index",
      "namespace", "tojson", "items", "range", "raise_exception", "break", "continue", "filter", "endfilter"};
  std::mt19937 rng(7);
  const nlohmann::ordered_json vars = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"x", 3}};
  int parsed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string source;
    const size_t n = rng() % 24;
    for (size_t i = 0; i < n; ++i) source += pieces[rng() % pieces.size()] + (rng() % 2 ? " " : "");
    auto t = ChatTemplate::parse(source, "soup");
    if (!t) {
      ASSERT_FALSE(t.error().message().empty());
      continue;
    }
    ++parsed;
    auto r = (*t)->render(vars);
    if (!r) {
      ASSERT_FALSE(r.error().message().empty());
    }
  }
  EXPECT_GT(parsed, 100);  // the soup is not all syntax errors: rendering gets exercised too
}

TEST(Robustness, DecodeAcceptsAnyIds) {
  auto tok = testing::qwen3();
  ASSERT_TRUE(tok);
  std::mt19937 rng(11);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<int32_t> ids(rng() % 50);
    for (int32_t& id : ids) id = static_cast<int32_t>(rng()) % (tok->vocab_size() + 100) - 50;
    const std::string text = tok->decode(ids, trial % 2 == 0);
    ASSERT_EQ(find_invalid_utf8(text), std::string_view::npos);
  }
}

}  // namespace
}  // namespace kvtier::tokenizer
