// Compares kvtier's tokenizer, decoder and chat templates with Hugging Face tokenizers 0.23 and
// transformers 5.17, through the fixtures tools/reference/tokenizer_fixtures.py wrote.
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer_config.h"
#include "tokenizer/tokenizer_json.h"

namespace kvtier::tokenizer {
namespace {

using testing::qwen3;
using testing::read_fixture;
using nlohmann::ordered_json;

std::string shorten(const std::string& s) { return s.size() > 80 ? s.substr(0, 80) + "..." : s; }

TEST(ReferenceFixtures, EncodeMatchesHuggingFace) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const ordered_json fixture = read_fixture("encode.json");
  ASSERT_GE(fixture["cases"].size(), 50u);
  for (const auto& c : fixture["cases"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE(c["category"].get<std::string>() + ": " + shorten(text));
    auto ids = tok->encode(text);
    ASSERT_TRUE(ids) << ids.error().message();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>());
  }
}

TEST(ReferenceFixtures, DecodeOfEncodedTextMatchesHuggingFace) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const ordered_json fixture = read_fixture("encode.json");
  ASSERT_GE(fixture["cases"].size(), 50u);
  for (const auto& c : fixture["cases"]) {
    SCOPED_TRACE(shorten(c["text"].get<std::string>()));
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->decode(ids, false), c["decoded"].get<std::string>());
    EXPECT_EQ(tok->decode(ids, true), c["decoded_skip_special"].get<std::string>());
  }
}

TEST(ReferenceFixtures, DecodeOfCraftedIdsMatchesHuggingFace) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const ordered_json fixture = read_fixture("decode.json");
  ASSERT_FALSE(fixture["cases"].empty());
  for (const auto& c : fixture["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->decode(ids, false), c["text"].get<std::string>());
    EXPECT_EQ(tok->decode(ids, true), c["text_skip_special"].get<std::string>());
  }
}

// Qwen3's own added tokens leave lstrip/rstrip/single_word/normalized off; the fixture adds
// tokens with those flags to the same tokenizer.
TEST(ReferenceFixtures, AddedTokenFlagsMatchHuggingFace) {
  const ordered_json fixture = read_fixture("added_tokens.json");
  auto spec = read_tokenizer_json(default_tokenizer_dir() / "tokenizer.json");
  ASSERT_TRUE(spec) << spec.error().message();
  for (const auto& a : fixture["added_tokens"]) {
    AddedToken token;
    token.id = a["id"].get<int32_t>();
    token.content = a["content"].get<std::string>();
    token.special = a["special"].get<bool>();
    token.lstrip = a["lstrip"].get<bool>();
    token.rstrip = a["rstrip"].get<bool>();
    token.single_word = a["single_word"].get<bool>();
    token.normalized = a["normalized"].get<bool>();
    spec->added_tokens.push_back(token);
  }
  auto tok = Tokenizer::build(std::move(*spec), TokenizerConfig{});
  ASSERT_TRUE(tok) << tok.error().message();
  ASSERT_FALSE(fixture["cases"].empty());
  for (const auto& c : fixture["cases"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE(text);
    auto ids = (*tok)->encode(text);
    ASSERT_TRUE(ids) << ids.error().message();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ((*tok)->decode(*ids, false), c["decoded"].get<std::string>());
    EXPECT_EQ((*tok)->decode(*ids, true), c["decoded_skip_special"].get<std::string>());
  }
}

TEST(ReferenceFixtures, Qwen3ChatTemplateMatchesTransformers) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const ordered_json fixture = read_fixture("chat.json");
  ASSERT_GE(fixture["cases"].size(), 36u);
  for (const auto& c : fixture["cases"]) {
    ChatOptions options;
    options.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    std::string thinking = "absent";
    if (c.contains("enable_thinking")) {
      options.enable_thinking = c["enable_thinking"].get<bool>();
      thinking = *options.enable_thinking ? "true" : "false";
    }
    if (c.contains("tools")) options.ordered_tools = c["tools"];
    SCOPED_TRACE(c["name"].get<std::string>() + " enable_thinking=" + thinking +
                 " add_generation_prompt=" + (options.add_generation_prompt ? "true" : "false"));
    auto text = tok->apply_chat_template(c["messages"], options);
    if (c.contains("error")) {
      // transformers reports "TypeError: <message>"; the message must be the same.
      const std::string expected = c["error"].get<std::string>();
      if (text) {
        ADD_FAILURE() << "expected the error " << expected;
      } else {
        EXPECT_NE(text.error().message().find(expected.substr(expected.find(": ") + 2)), std::string::npos)
            << text.error().message();
      }
      continue;
    }
    if (!text) {
      ADD_FAILURE() << text.error().message();
      continue;
    }
    EXPECT_EQ(*text, c["text"].get<std::string>());
    auto ids = tok->encode(*text);
    ASSERT_TRUE(ids) << ids.error().message();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>());
  }
}

// Jinja features and other models' template shapes, rendered through transformers with the Qwen3
// tokenizer's special tokens.
TEST(ReferenceFixtures, OtherTemplatesMatchTransformers) {
  auto config = read_tokenizer_config(default_tokenizer_dir());
  ASSERT_TRUE(config) << config.error().message();
  const ordered_json fixture = read_fixture("templates.json");
  ASSERT_FALSE(fixture["cases"].empty());
  for (const auto& c : fixture["cases"]) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name + (c["add_generation_prompt"].get<bool>() ? " (generation prompt)" : ""));
    auto tmpl = ChatTemplate::parse(c["template"].get<std::string>(), name);
    if (!tmpl) {
      ADD_FAILURE() << tmpl.error().message();
      continue;
    }
    ordered_json vars = ordered_json::object();
    if (config->eos_token) vars["eos_token"] = *config->eos_token;
    if (config->pad_token) vars["pad_token"] = *config->pad_token;
    vars["messages"] = c["messages"];
    vars["tools"] = nullptr;
    vars["documents"] = nullptr;
    vars["add_generation_prompt"] = c["add_generation_prompt"];
    vars["values"] = c["values"];
    auto text = (*tmpl)->render(vars);
    if (c.contains("error")) {
      if (text) {
        ADD_FAILURE() << "expected the error " << c["error"].get<std::string>();
        continue;
      }
      // transformers reports "TemplateError: <message>"; the message must survive.
      const std::string expected = c["error"].get<std::string>();
      const std::string message = expected.substr(expected.find(": ") + 2);
      EXPECT_NE(text.error().message().find(message), std::string::npos) << text.error().message();
    } else if (!text) {
      ADD_FAILURE() << text.error().message();
    } else {
      EXPECT_EQ(*text, c["text"].get<std::string>());
    }
  }
}

}  // namespace
}  // namespace kvtier::tokenizer
