#include "tokenizer/tokenizer_json.h"

#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/byte_level.h"

namespace kvtier::tokenizer {
namespace {

using nlohmann::json;

json sample() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  vocab["\xC4\xA0" "x"] = 258;  // Ġx
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array({json{{"id", 259}, {"content", "<|a|>"}, {"special", true}, {"lstrip", true}},
                                    json{{"id", 260}, {"content", "\xC3\xA9t\xC3\xA9"}, {"normalized", true}}})},
      {"normalizer", json{{"type", "Sequence"}, {"normalizers", json::array({json{{"type", "NFC"}}})}}},
      {"pre_tokenizer",
       json{{"type", "Sequence"},
            {"pretokenizers", json::array({json{{"type", "Split"},
                                                {"pattern", json{{"Regex", "\\p{L}+|\\s+"}}},
                                                {"behavior", "Isolated"},
                                                {"invert", false}},
                                           json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"post_processor", json{{"type", "ByteLevel"}, {"trim_offsets", false}}},
      {"decoder", json{{"type", "ByteLevel"}}},
      {"model", json{{"type", "BPE"},
                     {"dropout", nullptr},
                     {"vocab", vocab},
                     {"merges", json::array({"a b", json::array({"ab", "c"}), "\xC4\xA0 x"})},
                     {"ignore_merges", false}}}};
}

// Files go through the streaming parser, in-memory JSON through the tree: both read the same.
TEST(TokenizerJson, StreamingAndTreeReadTheSame) {
  testing::TempDir dir;
  dir.write("tokenizer.json", sample().dump());
  auto streamed = read_tokenizer_json(dir.path() / "tokenizer.json");
  ASSERT_TRUE(streamed) << streamed.error().message();
  auto tree = parse_tokenizer_json(sample(), "tokenizer.json");
  ASSERT_TRUE(tree) << tree.error().message();
  EXPECT_EQ(streamed->bpe.vocab, tree->bpe.vocab);
  EXPECT_EQ(streamed->bpe.vocab.size(), 259u);
  EXPECT_EQ(streamed->bpe.merges, tree->bpe.merges);
  EXPECT_EQ(streamed->bpe.merges,
            (std::vector<std::pair<std::string, std::string>>{{"a", "b"}, {"ab", "c"}, {"\xC4\xA0", "x"}}));
  EXPECT_EQ(streamed->split_patterns, tree->split_patterns);
  EXPECT_EQ(streamed->split_patterns, std::vector<std::string>{"\\p{L}+|\\s+"});
  EXPECT_TRUE(streamed->nfc);
  ASSERT_EQ(streamed->added_tokens.size(), 2u);
  EXPECT_EQ(streamed->added_tokens[0].content, "<|a|>");
  EXPECT_TRUE(streamed->added_tokens[0].lstrip);
  EXPECT_TRUE(streamed->added_tokens[0].special);
  EXPECT_TRUE(streamed->added_tokens[1].normalized);
  EXPECT_FALSE(streamed->added_tokens[1].special);
}

TEST(TokenizerJson, StreamingParserReportsWhereTheFileBreaks) {
  testing::TempDir dir;
  std::string text = sample().dump();
  dir.write("tokenizer.json", text.substr(0, text.size() / 2));
  auto truncated = read_tokenizer_json(dir.path() / "tokenizer.json");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(truncated.error().message().find("not valid JSON at byte"), std::string::npos) << truncated.error().message();

  json j = sample();
  j["model"]["merges"].push_back(json{{"left", "a"}});
  dir.write("tokenizer.json", j.dump());
  auto bad_merge = read_tokenizer_json(dir.path() / "tokenizer.json");
  ASSERT_FALSE(bad_merge);
  EXPECT_NE(bad_merge.error().message().find("model.merges[3]"), std::string::npos) << bad_merge.error().message();

  j = sample();
  j["model"]["vocab"]["neg"] = -4;
  dir.write("tokenizer.json", j.dump());
  auto bad_id = read_tokenizer_json(dir.path() / "tokenizer.json");
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.error().message().find("model.vocab[\"neg\"]"), std::string::npos) << bad_id.error().message();
}

}  // namespace
}  // namespace kvtier::tokenizer
