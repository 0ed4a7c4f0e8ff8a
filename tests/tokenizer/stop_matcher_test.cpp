#include "tokenizer/stop_matcher.h"

#include <random>

#include <gtest/gtest.h>

namespace kvtier::tokenizer {
namespace {

struct Streamed {
  std::string text;
  std::optional<size_t> stop;
};

Streamed run(StopMatcher& m, const std::vector<std::string>& deltas) {
  Streamed s;
  for (const std::string& d : deltas) {
    auto r = m.push(d);
    s.text += r.text;
    if (r.stop_index) s.stop = r.stop_index;
  }
  s.text += m.flush();
  return s;
}

TEST(StopMatcher, StopsInsideOneDelta) {
  StopMatcher m({"STOP"});
  auto r = m.push("Hello STOP world");
  EXPECT_EQ(r.text, "Hello ");
  EXPECT_EQ(r.stop_index, 0u);
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.push("more").text, "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, FindsStopsSpanningDeltasAndHoldsBackTheirStart) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("Hel").text, "Hel");
  EXPECT_EQ(m.push("lo ST").text, "lo ");  // "ST" could start "STOP"
  auto r = m.push("OP world");
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.stop_index, 0u);
}

TEST(StopMatcher, ReleasesHeldTextWhenItTurnsOutNotToBeAStop) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("ST").text, "");
  EXPECT_EQ(m.push("O").text, "");
  EXPECT_EQ(m.push("x").text, "STOx");
  EXPECT_EQ(m.push("S").text, "");
  EXPECT_EQ(m.flush(), "S");  // the end of the request releases it
}

TEST(StopMatcher, CanIncludeTheStopString) {
  StopMatcher m({"</answer>"}, true);
  auto s = run(m, {"the answer is 4</ans", "wer> and more"});
  EXPECT_EQ(s.text, "the answer is 4</answer>");
  EXPECT_EQ(s.stop, 0u);
}

TEST(StopMatcher, TheFirstStopToCompleteWins) {
  StopMatcher m({"abcd", "bc", "x"});
  auto r = m.push("zabcdx");
  EXPECT_EQ(r.text, "za");
  EXPECT_EQ(r.stop_index, 1u);
  StopMatcher same_end({"cd", "abcd"});  // both end together: the longer one started first
  auto r2 = same_end.push("zabcd");
  EXPECT_EQ(r2.text, "z");
  EXPECT_EQ(r2.stop_index, 1u);
}

TEST(StopMatcher, MultiByteStopStrings) {
  StopMatcher m({"\xE3\x80\x82\xE3\x80\x82"});  // "。。"
  auto s = run(m, {"\xE5\xA5\xBD\xE3\x80\x82", "\xE3\x80\x82\xE5\x90\x8E"});
  EXPECT_EQ(s.text, "\xE5\xA5\xBD");
  EXPECT_EQ(s.stop, 0u);
}

TEST(StopMatcher, NoStopsPassEverythingThrough) {
  StopMatcher m({"", ""});
  auto s = run(m, {"a", "b", ""});
  EXPECT_EQ(s.text, "ab");
  EXPECT_FALSE(s.stop);
}

// However the text is cut into deltas, the output is the text up to the stop string that ends
// first in the whole text.
TEST(StopMatcher, ResultDoesNotDependOnHowTextIsChunked) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const size_t n = rng() % 25;
    for (size_t i = 0; i < n; ++i) text += static_cast<char>('a' + rng() % 3);
    std::vector<std::string> stops;
    for (int k = 0; k < 2; ++k) {
      std::string s;
      const size_t len = 1 + rng() % 4;
      for (size_t i = 0; i < len; ++i) s += static_cast<char>('a' + rng() % 3);
      stops.push_back(s);
    }
    size_t best_end = std::string::npos, best_start = 0;
    for (const auto& s : stops) {
      const size_t at = text.find(s);
      if (at != std::string::npos && (at + s.size() < best_end || (at + s.size() == best_end && at < best_start))) {
        best_end = at + s.size();
        best_start = at;
      }
    }
    const std::string expected = best_end == std::string::npos ? text : text.substr(0, best_start);
    std::vector<std::string> deltas;
    for (size_t i = 0; i < text.size();) {
      const size_t len = 1 + rng() % 4;
      deltas.push_back(text.substr(i, len));
      i += len;
    }
    StopMatcher m(stops);
    auto s = run(m, deltas);
    ASSERT_EQ(s.text, expected) << text << " stops " << stops[0] << "," << stops[1];
    ASSERT_EQ(s.stop.has_value(), best_end != std::string::npos);
  }
}

}  // namespace
}  // namespace kvtier::tokenizer
