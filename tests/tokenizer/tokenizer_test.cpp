#include "tokenizer/tokenizer.h"

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

using nlohmann::json;
using testing::qwen3;
using testing::TempDir;

TEST(Tokenizer, LoadsQwen3SpecialTokens) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->eos_token_id(), tok->token_to_id("<|im_end|>"));
  EXPECT_EQ(tok->pad_token_id(), tok->token_to_id("<|endoftext|>"));
  EXPECT_EQ(tok->bos_token_id(), std::nullopt);  // tokenizer_config.json has "bos_token": null
  EXPECT_TRUE(tok->has_chat_template());
  const int32_t im_end = *tok->token_to_id("<|im_end|>");
  EXPECT_TRUE(tok->is_special(im_end));
  EXPECT_FALSE(tok->is_special(*tok->token_to_id("<think>")));  // added, but not special
  EXPECT_EQ(tok->vocab_size(), *tok->token_to_id("</think>") + 1);  // the highest added token
  EXPECT_EQ(tok->token_bytes(im_end), "<|im_end|>");
  EXPECT_EQ(tok->token_bytes(*tok->token_to_id("\xC4\xA0world")), " world");  // Ġworld
  EXPECT_EQ(tok->token_bytes(-1), "");
  EXPECT_EQ(tok->token_bytes(tok->vocab_size()), "");
}

TEST(Tokenizer, EncodesWordsToTheirVocabularyEntries) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  auto ids = tok->encode("Hello world");
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<int32_t>{*tok->token_to_id("Hello"), *tok->token_to_id("\xC4\xA0world")}));
  auto chat = tok->encode("<|im_start|>user\n");
  ASSERT_TRUE(chat);
  EXPECT_EQ(*chat, (std::vector<int32_t>{*tok->token_to_id("<|im_start|>"), *tok->token_to_id("user"),
                                         *tok->token_to_id("\xC4\x8A")}));  // Ċ is "\n"
  auto empty = tok->encode("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(Tokenizer, RejectsInvalidUtf8NamingTheOffset) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  auto ids = tok->encode("abc\xFF" "def");
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(ids.error().message().find("byte offset 3"), std::string::npos) << ids.error().message();
  EXPECT_FALSE(tok->encode("\xE4\xB8"));   // truncated
  EXPECT_FALSE(tok->encode("\xED\xA0\x80"));  // surrogate
}

// Byte-level BPE loses nothing: decoding gives back the normalized (NFC) text.
TEST(Tokenizer, DecodeInvertsEncodeOnRandomText) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const std::vector<std::string> pool = {
      "a", "Z", "7", " ", "  ", "\t", "\n", "\r\n", ".", "'s", "'LL", "\xC2\xA0", "\xE3\x80\x80", "\xE4\xB8\xAD",
      "\xED\x95\x9C", "e\xCC\x81", "\xCC\x88", "\xF0\x9F\x98\x80", "\xE2\x80\x8D", "\xF0\x9F\x87\xBA", "\xD9\x85",
      "\xE0\xA4\xA8\xE0\xA5\x8D", "<|im_end|>", "<think>", "<|im_", "\xE2\x84\xAB", "\xEF\xBC\x91", "\xE1\xA0\x8E"};
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 400; ++trial) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) text += pool[rng() % pool.size()];
    auto ids = tok->encode(text);
    ASSERT_TRUE(ids) << ids.error().message();
    ASSERT_EQ(tok->decode(*ids), nfc(text));
    for (int32_t id : *ids) ASSERT_TRUE(id >= 0 && id < tok->vocab_size());
  }
}

TEST(Tokenizer, EncodesConcurrentlyWithTheSameResults) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> expected;
  const auto fixture = testing::read_fixture("encode.json");
  for (const auto& c : fixture["cases"]) {
    texts.push_back(c["text"].get<std::string>());
    expected.push_back(c["ids"].get<std::vector<int32_t>>());
  }
  ASSERT_FALSE(texts.empty());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i + static_cast<size_t>(t) * 37) % texts.size();
          auto ids = tok->encode(texts[k]);
          if (!ids || *ids != expected[k]) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Tokenizer, HandlesLongInputs) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  std::string text;
  while (text.size() < (1 << 20)) text += "Tiered KV caches keep prefixes \xE4\xB8\xAD\xE6\x96\x87 around; 12345.\n\n";
  auto ids = tok->encode(text);
  ASSERT_TRUE(ids);
  EXPECT_EQ(tok->decode(*ids), text);
  const std::string word(200000, 'q');
  auto word_ids = tok->encode(word);
  ASSERT_TRUE(word_ids);
  EXPECT_EQ(tok->decode(*word_ids), word);
}

// ---- loading: what is not implemented is refused, naming the component ----

json byte_level_tokenizer_json() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  return json{{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", json::array({json{{"id", 257}, {"content", "<eos>"}, {"special", true}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"post_processor", nullptr},
              {"decoder", json{{"type", "ByteLevel"}}},
              {"model", json{{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b"})}}}};
}

Expected<std::shared_ptr<const Tokenizer>> load_with(const json& tokenizer_json, const json& config = json::object()) {
  TempDir dir;
  dir.write("tokenizer.json", tokenizer_json.dump());
  dir.write("tokenizer_config.json", config.dump());
  return Tokenizer::load(dir.path());
}

void expect_refused(const json& tokenizer_json, const std::string& needle) {
  auto tok = load_with(tokenizer_json);
  ASSERT_FALSE(tok) << "expected a failure naming " << needle;
  EXPECT_NE(tok.error().message().find(needle), std::string::npos) << tok.error().message();
  EXPECT_NE(tok.error().message().find("tokenizer.json"), std::string::npos) << tok.error().message();
}

TEST(TokenizerLoad, AcceptsAMinimalByteLevelTokenizer) {
  auto tok = load_with(byte_level_tokenizer_json(), json{{"eos_token", "<eos>"}});
  ASSERT_TRUE(tok) << tok.error().message();
  EXPECT_EQ((*tok)->eos_token_id(), 257);
  EXPECT_FALSE((*tok)->has_chat_template());
  auto ids = (*tok)->encode("ab ab<eos>");
  ASSERT_TRUE(ids);
  // GPT-2 pieces "ab", " ab"; the byte characters have ids 0-255, the "ab" merge 256.
  EXPECT_EQ(*ids, (std::vector<int32_t>{256, ' ', 256, 257}));
  auto chat = (*tok)->apply_chat_template(json::array({json{{"role", "user"}, {"content", "x"}}}), ChatOptions{});
  ASSERT_FALSE(chat);
  EXPECT_NE(chat.error().message().find("no chat template"), std::string::npos);
}

TEST(TokenizerLoad, RefusesUnsupportedComponents) {
  json j = byte_level_tokenizer_json();
  j["model"]["type"] = "WordPiece";
  expect_refused(j, "model.type");
  j = byte_level_tokenizer_json();
  j["normalizer"] = json{{"type", "Lowercase"}};
  expect_refused(j, "normalizer.type");
  j = byte_level_tokenizer_json();
  j["normalizer"] = json{{"type", "Sequence"}, {"normalizers", json::array({json{{"type", "NFC"}}, json{{"type", "NFKC"}}})}};
  expect_refused(j, "normalizer.normalizers[1].type");
  j = byte_level_tokenizer_json();
  j["pre_tokenizer"] = json{{"type", "Whitespace"}};
  expect_refused(j, "pre_tokenizer.type");
  j = byte_level_tokenizer_json();
  j["pre_tokenizer"] = json{{"type", "Sequence"},
                            {"pretokenizers", json::array({json{{"type", "Split"},
                                                                {"pattern", json{{"Regex", "\\s+"}}},
                                                                {"behavior", "Removed"},
                                                                {"invert", false}},
                                                           json{{"type", "ByteLevel"}, {"use_regex", false}}})}};
  expect_refused(j, "pre_tokenizer.pretokenizers[0].behavior");
  j = byte_level_tokenizer_json();
  j["pre_tokenizer"]["add_prefix_space"] = true;
  expect_refused(j, "pre_tokenizer.add_prefix_space");
  j = byte_level_tokenizer_json();
  j["decoder"] = json{{"type", "WordPiece"}};
  expect_refused(j, "decoder.type");
  j = byte_level_tokenizer_json();
  j["post_processor"] = json{{"type", "TemplateProcessing"}};
  expect_refused(j, "post_processor.type");
  j = byte_level_tokenizer_json();
  j["model"]["byte_fallback"] = true;
  expect_refused(j, "model.byte_fallback");
  j = byte_level_tokenizer_json();
  j["truncation"] = json{{"max_length", 8}};
  expect_refused(j, "truncation");
}

TEST(TokenizerLoad, RefusesMalformedFilesNamingTheField) {
  json j = byte_level_tokenizer_json();
  j["model"]["merges"] = json::array({"a b c"});
  expect_refused(j, "model.merges[0]");
  j = byte_level_tokenizer_json();
  j["model"]["merges"] = json::array({json::array({"a", "zz"})});
  expect_refused(j, "model.merges[0]");
  j = byte_level_tokenizer_json();
  j["model"]["vocab"]["x"] = "not an id";
  expect_refused(j, "model.vocab[\"x\"]");
  j = byte_level_tokenizer_json();
  j["added_tokens"][0].erase("content");
  expect_refused(j, "added_tokens[0].content");

  TempDir dir;
  dir.write("tokenizer.json", "{ not json");
  auto tok = Tokenizer::load(dir.path());
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code(), ErrorCode::kDataLoss);
  EXPECT_NE(tok.error().message().find("tokenizer.json"), std::string::npos);

  auto missing = Tokenizer::load("/nonexistent/kvtier/tokenizer");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("/nonexistent/kvtier/tokenizer"), std::string::npos);

  auto bad_eos = load_with(byte_level_tokenizer_json(), json{{"eos_token", "<nope>"}});
  ASSERT_FALSE(bad_eos);
  EXPECT_NE(bad_eos.error().message().find("eos_token '<nope>'"), std::string::npos) << bad_eos.error().message();
}

TEST(TokenizerLoad, RefusesATemplateItCannotRunNamingLineAndConstruct) {
  auto tok = load_with(byte_level_tokenizer_json(),
                       json{{"chat_template", "{% for m in messages %}\n{{ m.content | frobnicate }}\n{% endfor %}"}});
  ASSERT_FALSE(tok);
  EXPECT_NE(tok.error().message().find("tokenizer_config.json: chat_template: line 2"), std::string::npos)
      << tok.error().message();
  EXPECT_NE(tok.error().message().find("unsupported filter 'frobnicate'"), std::string::npos);
}

TEST(TokenizerLoad, ChatTemplateFileReplacesTheConfigs) {
  TempDir dir;
  dir.write("tokenizer.json", byte_level_tokenizer_json().dump());
  dir.write("tokenizer_config.json", json{{"chat_template", "config"}}.dump());
  dir.write("chat_template.jinja", "file {{ messages|length }}");
  auto tok = Tokenizer::load(dir.path());
  ASSERT_TRUE(tok) << tok.error().message();
  auto text = (*tok)->apply_chat_template(json::array({json::object()}), ChatOptions{});
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "file 1");
}

TEST(TokenizerChat, PassesOptionsToTheTemplate) {
  TempDir dir;
  dir.write("tokenizer.json", byte_level_tokenizer_json().dump());
  dir.write("tokenizer_config.json",
            json{{"eos_token", "<eos>"},
                 {"chat_template",
                  "{{ enable_thinking is defined }}|{{ add_generation_prompt }}|{{ tools|tojson }}|{{ eos_token }}|"
                  "{{ custom|default('-') }}|{{ bos_token is defined }}"}}
                .dump());
  auto tok = Tokenizer::load(dir.path());
  ASSERT_TRUE(tok) << tok.error().message();
  const json messages = json::array({json{{"role", "user"}, {"content", "hi"}}});
  ChatOptions options;
  auto plain = (*tok)->apply_chat_template(messages, options);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(*plain, "False|True|null|<eos>|-|False");
  options.enable_thinking = false;
  options.add_generation_prompt = false;
  options.ordered_tools = nlohmann::ordered_json::parse(R"([{"z": 1, "a": "\u00e9"}])");
  options.template_kwargs = nlohmann::ordered_json{{"custom", "yes"}};
  auto full = (*tok)->apply_chat_template(messages, options);
  ASSERT_TRUE(full) << full.error().message();
  EXPECT_EQ(*full, "True|False|[{\"z\": 1, \"a\": \"\xC3\xA9\"}]|<eos>|yes|False");
  auto not_array = (*tok)->apply_chat_template(json{{"role", "user"}}, ChatOptions{});
  ASSERT_FALSE(not_array);
  EXPECT_NE(not_array.error().message().find("messages"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::tokenizer
