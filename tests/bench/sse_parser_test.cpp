#include "bench/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/stream_accumulator.h"

namespace kvtier::bench {
namespace {

std::vector<std::string> feed_in_pieces(const std::string& stream, size_t piece) {
  SseParser parser;
  std::vector<std::string> events;
  auto on_event = [&](std::string_view d) { events.emplace_back(d); };
  for (size_t i = 0; i < stream.size(); i += piece) {
    EXPECT_TRUE(parser.feed(std::string_view(stream).substr(i, piece), on_event));
  }
  parser.finish(on_event);
  return events;
}

TEST(SseParser, EventsSurviveAnySplit) {
  const std::string stream =
      "data: {\"a\":1}\n\n: keep-alive comment\n\ndata: {\"b\":2}\r\n\r\nevent: x\ndata: "
      "[DONE]\n\n";
  for (size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    auto events = feed_in_pieces(stream, piece);
    ASSERT_EQ(events.size(), 3u) << "piece " << piece;
    EXPECT_EQ(events[0], "{\"a\":1}");
    EXPECT_EQ(events[1], "{\"b\":2}");
    EXPECT_EQ(events[2], "[DONE]");
  }
}

TEST(SseParser, MultiLineDataAndUnterminatedLastEvent) {
  auto events = feed_in_pieces("data: one\ndata: two\n\ndata:three", 4);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "one\ntwo");
  EXPECT_EQ(events[1], "three");
}

TEST(StreamAccumulator, ChatChunksUsageAndTimes) {
  RequestRecord r;
  StreamAccumulator acc(r);
  // The role chunk has empty content: not a token.
  acc.on_body(R"(data: {"id":"c1","choices":[{"delta":{"role":"assistant","content":""}}]})"
              "\n\n",
              1.0);
  acc.on_body(
      R"(data: {"choices":[{"delta":{"content":"Hel"}}],"usage":{"prompt_tokens":7,"completion_tokens":1}})"
      "\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]",
      2.0);
  acc.on_body(",\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n", 3.0);
  acc.on_body(
      R"(data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}})"
      "\n\ndata: [DONE]\n\n",
      4.0);
  acc.finish(4.5);
  EXPECT_TRUE(acc.saw_done());
  EXPECT_FALSE(acc.failed());
  EXPECT_EQ(r.output, "Hello");
  EXPECT_EQ(r.response_id, "c1");
  EXPECT_DOUBLE_EQ(*r.first_token, 2.0);
  EXPECT_DOUBLE_EQ(*r.last_token, 3.0);  // the chunk completed at 3.0
  EXPECT_EQ(r.token_iterations, 2);
  EXPECT_EQ(r.request_iterations, 4);
  EXPECT_EQ(*r.prompt_tokens, 7);
  EXPECT_EQ(*r.output_tokens, 2);
  EXPECT_EQ(*r.cached_tokens, 4);
}

TEST(StreamAccumulator, TextCompletionsAndErrors) {
  RequestRecord r;
  StreamAccumulator acc(r);
  acc.on_body("data: {\"choices\":[{\"text\":\" a\"}]}\n\n", 1.0);
  acc.on_body("data: {\"error\":{\"message\":\"boom\"}}\n\n", 2.0);
  EXPECT_EQ(r.output, " a");
  EXPECT_TRUE(acc.failed());
  EXPECT_NE(acc.error().find("boom"), std::string::npos);

  RequestRecord bad;
  StreamAccumulator garbage(bad);
  garbage.on_body("data: {not json\n\n", 1.0);
  EXPECT_TRUE(garbage.failed());
  EXPECT_NE(garbage.error().find("malformed"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::bench
