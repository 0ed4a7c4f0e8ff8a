#include "bench/request_body.h"

#include <gtest/gtest.h>

namespace kvtier::bench {
namespace {

ConversationSpec tricky_conversation() {
  ConversationSpec c;
  c.prefix = std::make_shared<const std::string>("System \"rules\"\nline two\t\xC3\xA9");
  c.turns = {{"first \\ question", 3, 5}, {"second \u00fc question", 3, 5}};
  return c;
}

TEST(RequestBody, ChatBodyRoundTripsExactly) {
  BodyOptions options;
  options.model = "m";
  options.extra_body = {{"temperature", 0.5}, {"messages", "ignored"}};
  const auto body = nlohmann::json::parse(
      build_request_body(options, tricky_conversation(), 1, {"reply \"one\"\n"}));
  const nlohmann::json expected = {
      {"model", "m"},
      {"stream", true},
      {"stream_options", {{"include_usage", true}, {"continuous_usage_stats", true}}},
      {"max_completion_tokens", 5},
      {"ignore_eos", true},
      {"temperature", 0.5},
      {"messages",
       {{{"role", "system"}, {"content", "System \"rules\"\nline two\t\xC3\xA9"}},
        {{"role", "user"}, {"content", "first \\ question"}},
        {{"role", "assistant"}, {"content", "reply \"one\"\n"}},
        {{"role", "user"}, {"content", "second \u00fc question"}}}}};
  EXPECT_EQ(body, expected);
}

TEST(RequestBody, TextBodyJoinsEscapedPiecesWithSpaces) {
  BodyOptions options;
  options.format = RequestFormat::kTextCompletions;
  options.stream = false;
  const auto body = nlohmann::json::parse(
      build_request_body(options, tricky_conversation(), 1, {"reply \"one\"\n"}));
  EXPECT_EQ(body["prompt"],
            "System \"rules\"\nline two\t\xC3\xA9 first \\ question reply \"one\"\n second "
            "\u00fc question");
  EXPECT_EQ(body["max_tokens"], 5);
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_FALSE(body.contains("model"));
}

TEST(RequestBody, NoPrefixNoOutputLength) {
  ConversationSpec c;
  c.prefix = std::make_shared<const std::string>();
  c.turns = {{"q", 1, std::nullopt}};
  const auto body = nlohmann::json::parse(build_request_body(BodyOptions{}, c, 0, {}));
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_FALSE(body.contains("ignore_eos"));
  // An empty object head still yields valid JSON.
  BodyOptions bare;
  bare.stream = false;
  EXPECT_NO_THROW(nlohmann::json::parse(build_request_body(bare, c, 0, {})));
}

}  // namespace
}  // namespace kvtier::bench
