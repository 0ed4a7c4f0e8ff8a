// The router reads prompts as `kvtier serve` does: same tokens, hence the engine's block keys.
#include <gtest/gtest.h>

#include "common/paths.h"
#include "kv/block_hash.h"
#include "router/prompt_reader.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::router {
namespace {

class PromptReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto tok = tokenizer::Tokenizer::load(default_tokenizer_dir());
    ASSERT_TRUE(tok) << tok.error().message();
    tokenizer_ = *tok;
  }
  static std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;
};
std::shared_ptr<const tokenizer::Tokenizer> PromptReaderTest::tokenizer_;

TEST_F(PromptReaderTest, CompletionPromptsInEveryForm) {
  auto reader = make_tokenizer_prompt_reader(tokenizer_);
  const std::string text = "The capital of France is";
  const auto expected = *tokenizer_->encode(text);
  for (const nlohmann::json& prompt :
       {nlohmann::json(text), nlohmann::json::array({text}), nlohmann::json(expected),
        nlohmann::json::array({expected})}) {
    auto r = reader->read(ApiKind::kCompletions, {{"prompt", prompt}, {"max_tokens", 4}});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->has_prompt());
    EXPECT_EQ(std::vector<int32_t>(r->prompt_tokens().begin(), r->prompt_tokens().end()),
              expected)
        << prompt.dump();
  }
}

TEST_F(PromptReaderTest, ChatAppliesTheTemplateWithGenerationPrompt) {
  auto reader = make_tokenizer_prompt_reader(tokenizer_);
  const nlohmann::json messages = {{{"role", "system"}, {"content", "Be brief."}},
                                   {{"role", "user"}, {"content", "Hi there"}}};
  tokenizer::ChatOptions options;
  const auto expected = *tokenizer_->encode(*tokenizer_->apply_chat_template(messages, options));
  auto r = reader->read(ApiKind::kChatCompletions, {{"messages", messages}});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(std::vector<int32_t>(r->prompt_tokens().begin(), r->prompt_tokens().end()), expected);
  // Text parts are joined with "\n", as the server does.
  const nlohmann::json parts = {
      {{"role", "system"}, {"content", "Be brief."}},
      {{"role", "user"},
       {"content", {{{"type", "text"}, {"text", "Hi"}}, {{"type", "text"}, {"text", "there"}}}}}};
  const nlohmann::json joined = {{{"role", "system"}, {"content", "Be brief."}},
                                 {{"role", "user"}, {"content", "Hi\nthere"}}};
  auto p = reader->read(ApiKind::kChatCompletions, {{"messages", parts}});
  ASSERT_TRUE(p);
  EXPECT_EQ(std::vector<int32_t>(p->prompt_tokens().begin(), p->prompt_tokens().end()),
            *tokenizer_->encode(*tokenizer_->apply_chat_template(joined, options)));
  // add_generation_prompt false and enable_thinking false change the rendering as requested.
  tokenizer::ChatOptions no_gen;
  no_gen.add_generation_prompt = false;
  auto g = reader->read(ApiKind::kChatCompletions,
                        {{"messages", messages}, {"add_generation_prompt", false}});
  ASSERT_TRUE(g);
  EXPECT_EQ(std::vector<int32_t>(g->prompt_tokens().begin(), g->prompt_tokens().end()),
            *tokenizer_->encode(*tokenizer_->apply_chat_template(messages, no_gen)));
  EXPECT_NE(g->prompt_tokens().size(), r->prompt_tokens().size());
  tokenizer::ChatOptions no_think;
  no_think.enable_thinking = false;
  auto t = reader->read(ApiKind::kChatCompletions,
                        {{"messages", messages},
                         {"chat_template_kwargs", {{"enable_thinking", false}}}});
  ASSERT_TRUE(t);
  EXPECT_EQ(std::vector<int32_t>(t->prompt_tokens().begin(), t->prompt_tokens().end()),
            *tokenizer_->encode(*tokenizer_->apply_chat_template(messages, no_think)));
}

TEST_F(PromptReaderTest, CacheSaltChangesTheKeysAsTheEngineDoes) {
  auto reader = make_tokenizer_prompt_reader(tokenizer_);
  std::string text;
  while (text.size() < 400) text += "a prompt long enough for a few blocks ";
  auto plain = reader->read(ApiKind::kCompletions, {{"prompt", text}});
  auto salted = reader->read(ApiKind::kCompletions, {{"prompt", text}, {"cache_salt", "s1"}});
  ASSERT_TRUE(plain && salted);
  const auto tokens = *tokenizer_->encode(text);
  const auto a = plain->block_keys(16, 256);
  const auto b = salted->block_keys(16, 256);
  EXPECT_EQ(std::vector<uint64_t>(a.begin(), a.end()), kv::hash_token_blocks(tokens, 16));
  EXPECT_EQ(std::vector<uint64_t>(b.begin(), b.end()), kv::hash_token_blocks(tokens, 16, "s1"));
  EXPECT_NE(a[0], b[0]);
}

TEST_F(PromptReaderTest, UnreadableBodiesAreErrorsNotCrashes) {
  auto reader = make_tokenizer_prompt_reader(tokenizer_);
  for (const nlohmann::json& body :
       {nlohmann::json::array(), nlohmann::json{{"max_tokens", 3}},
        nlohmann::json{{"prompt", 42}}, nlohmann::json{{"prompt", {1, "x"}}},
        nlohmann::json{{"prompt", "\xff\xfe"}}}) {
    EXPECT_FALSE(reader->read(ApiKind::kCompletions, body)) << body.dump(-1, ' ', false,
                                                                         nlohmann::json::error_handler_t::replace);
  }
  for (const nlohmann::json& body :
       {nlohmann::json{{"messages", "hi"}}, nlohmann::json{{"messages", nlohmann::json::array()}},
        nlohmann::json{{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}},
        nlohmann::json{{"messages", {{{"role", "user"}, {"content", 5}}}}}}) {
    EXPECT_FALSE(reader->read(ApiKind::kChatCompletions, body)) << body.dump();
  }
}

}  // namespace
}  // namespace kvtier::router
