#include <random>

#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

using testing::qwen3;

std::string stream(const std::shared_ptr<const Tokenizer>& tok, const std::vector<int32_t>& ids, bool skip,
                   bool* all_valid = nullptr) {
  IncrementalDetokenizer detok(tok, skip);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = detok.push(id);
    if (all_valid && find_invalid_utf8(piece) != std::string_view::npos) *all_valid = false;
    out += piece;
  }
  return out + detok.flush();
}

int32_t byte_token(const Tokenizer& tok, uint8_t b) {
  std::string spelling;
  append_utf8(spelling, byte_to_char(b));
  return *tok.token_to_id(spelling);
}

TEST(IncrementalDetokenizer, StreamsExactlyWhatDecodeGives) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const auto fixture = testing::read_fixture("encode.json");
  ASSERT_GE(fixture["cases"].size(), 50u);
  for (const auto& c : fixture["cases"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    bool valid = true;
    EXPECT_EQ(stream(tok, ids, false, &valid), tok->decode(ids, false));
    EXPECT_EQ(stream(tok, ids, true, &valid), tok->decode(ids, true));
    EXPECT_TRUE(valid) << "a push returned incomplete UTF-8";
  }
}

// Random ids, biased towards single-byte tokens that split characters, and special tokens.
TEST(IncrementalDetokenizer, StreamsRandomIdsLikeDecode) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  std::mt19937 rng(99);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int32_t> ids;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0: ids.push_back(byte_token(*tok, static_cast<uint8_t>(0x80 + rng() % 0x80))); break;
        case 1: ids.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(tok->vocab_size()))); break;
        case 2: ids.push_back(*tok->token_to_id("<|im_end|>")); break;
        default: ids.push_back(byte_token(*tok, static_cast<uint8_t>(rng() % 0x80))); break;
      }
    }
    bool valid = true;
    ASSERT_EQ(stream(tok, ids, false, &valid), tok->decode(ids, false));
    ASSERT_EQ(stream(tok, ids, true, &valid), tok->decode(ids, true));
    ASSERT_TRUE(valid);
  }
}

TEST(IncrementalDetokenizer, HoldsBackPartialCharacters) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  IncrementalDetokenizer detok(tok, false);
  EXPECT_EQ(detok.push(byte_token(*tok, 0xE4)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 0xB8)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 0xAD)), "\xE4\xB8\xAD");
  EXPECT_EQ(detok.push(byte_token(*tok, 0xF0)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 'x')), "\xEF\xBF\xBDx");  // interrupted: replaced, then x
  EXPECT_EQ(detok.push(byte_token(*tok, 0xE4)), "");
  EXPECT_EQ(detok.flush(), "\xEF\xBF\xBD");  // incomplete at the end
  EXPECT_EQ(detok.flush(), "");
}

TEST(IncrementalDetokenizer, SkipsSpecialTokensOnlyWhenAsked) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const int32_t im_end = *tok->token_to_id("<|im_end|>");
  const int32_t think = *tok->token_to_id("<think>");
  IncrementalDetokenizer keep(tok, false);
  EXPECT_EQ(keep.push(im_end), "<|im_end|>");
  IncrementalDetokenizer skip(tok, true);
  EXPECT_EQ(skip.push(im_end), "");
  EXPECT_EQ(skip.push(think), "<think>");  // an added token that is not special
  EXPECT_EQ(skip.push(-5), "");            // unknown ids give nothing
}

}  // namespace
}  // namespace kvtier::tokenizer
