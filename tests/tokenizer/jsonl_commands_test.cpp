#include "tokenizer/jsonl_commands.h"

#include <sstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kvtier::tokenizer {
namespace {

using nlohmann::json;
using testing::qwen3;

std::vector<json> lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

TEST(TokenizeLines, TokenizesTextAndChatsAndReportsBadLinesByNumber) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const json messages = json::array({json{{"role", "user"}, {"content", "Hi there"}}});
  std::istringstream in(json{{"text", "Hello world"}}.dump() + "\n" +
                        "\n" +  // blank lines are skipped but counted
                        "{not json\n" +
                        json{{"messages", messages}, {"enable_thinking", false}}.dump() + "\n" +
                        json{{"text", 5}}.dump() + "\r\n" +
                        json{{"messages", messages}, {"add_generation_prompt", false}}.dump() + "\n");
  std::ostringstream out, err;
  EXPECT_EQ(tokenize_lines(*tok, in, out, err), 2u);
  const auto results = lines(out.str());
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0]["ids"].get<std::vector<int32_t>>(), *tok->encode("Hello world"));
  EXPECT_FALSE(results[0].contains("text"));
  EXPECT_NE(results[1]["error"].get<std::string>().find("line 3: not valid JSON"), std::string::npos);

  ChatOptions no_thinking;
  no_thinking.enable_thinking = false;
  const std::string rendered = *tok->apply_chat_template(messages, no_thinking);
  EXPECT_EQ(results[2]["text"].get<std::string>(), rendered);
  EXPECT_EQ(results[2]["ids"].get<std::vector<int32_t>>(), *tok->encode(rendered));
  EXPECT_NE(rendered.find("<think>\n\n</think>"), std::string::npos);
  EXPECT_EQ(results[3]["error"].get<std::string>(), "line 5: \"text\" must be a string");

  ChatOptions no_prompt;
  no_prompt.add_generation_prompt = false;
  EXPECT_EQ(results[4]["text"].get<std::string>(), *tok->apply_chat_template(messages, no_prompt));
  EXPECT_NE(err.str().find("line 3"), std::string::npos);
  EXPECT_NE(err.str().find("line 5"), std::string::npos);
}

TEST(TokenizeLines, RefusesAmbiguousOrInvalidRequests) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  std::istringstream in(R"({"text": "a", "messages": []})"
                        "\n"
                        R"({"other": 1})"
                        "\n"
                        R"([1, 2])"
                        "\n"
                        R"({"messages": [{"role": "user", "content": "x"}], "enable_thinking": "yes"})"
                        "\n");
  std::ostringstream out, err;
  EXPECT_EQ(tokenize_lines(*tok, in, out, err), 4u);
  const auto results = lines(out.str());
  ASSERT_EQ(results.size(), 4u);
  EXPECT_NE(results[0]["error"].get<std::string>().find("either \"text\" or \"messages\""), std::string::npos);
  EXPECT_NE(results[2]["error"].get<std::string>().find("expected a JSON object"), std::string::npos);
  EXPECT_NE(results[3]["error"].get<std::string>().find("enable_thinking"), std::string::npos);
}

TEST(DetokenizeLines, DecodesIdsAndRejectsUnknownIds) {
  auto tok = qwen3();
  ASSERT_TRUE(tok);
  const auto ids = *tok->encode("<|im_start|>Hi \xE4\xB8\xAD<|im_end|>");
  std::istringstream in(json{{"ids", ids}}.dump() + "\n" + json{{"ids", {1, 999999999}}}.dump() + "\n" +
                        json{{"text", "x"}}.dump() + "\n");
  std::ostringstream out, err;
  EXPECT_EQ(detokenize_lines(*tok, false, in, out, err), 2u);
  auto results = lines(out.str());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["text"].get<std::string>(), "<|im_start|>Hi \xE4\xB8\xAD<|im_end|>");
  EXPECT_NE(results[1]["error"].get<std::string>().find("line 2: ids[1]: 999999999 is not a token id"), std::string::npos);
  EXPECT_NE(results[2]["error"].get<std::string>().find("line 3"), std::string::npos);

  std::istringstream again(json{{"ids", ids}}.dump() + "\n");
  std::ostringstream skipped;
  EXPECT_EQ(detokenize_lines(*tok, true, again, skipped, err), 0u);
  EXPECT_EQ(lines(skipped.str())[0]["text"].get<std::string>(), "Hi \xE4\xB8\xAD");
}

}  // namespace
}  // namespace kvtier::tokenizer
