#include "tokenizer/utf8.h"

#include <random>

#include <gtest/gtest.h>

namespace kvtier::tokenizer {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, FindsTheFirstIllFormedByte) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\x80"), 2u);            // lone continuation byte
  EXPECT_EQ(find_invalid_utf8("a\xC0\x80"), 1u);         // overlong NUL
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0u);      // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("xy\xF4\x90\x80\x80"), 2u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xE4\xB8"), 0u);          // truncated at the end
  EXPECT_EQ(find_invalid_utf8("\xFF"), 0u);
  EXPECT_EQ(find_invalid_utf8(std::string_view("a\0b", 3)), std::string_view::npos);
}

// The Unicode standard's "maximal subpart" policy (section 3.9), which Python and Rust follow.
TEST(Utf8, LossyDecodingReplacesEachMaximalSubpart) {
  EXPECT_EQ(utf8_lossy("a\x80" "b"), "a" + kFffd + "b");
  EXPECT_EQ(utf8_lossy("\xE4\xB8"), kFffd);                       // one truncated sequence
  EXPECT_EQ(utf8_lossy("\xC0\x80"), kFffd + kFffd);               // C0 never starts a sequence
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), kFffd + kFffd + kFffd);   // ED A0 is not allowed
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98" "x"), kFffd + "x");
  EXPECT_EQ(utf8_lossy("\xE4" "a\xB8\xAD"), kFffd + "a" + kFffd + kFffd);
  EXPECT_EQ(utf8_lossy("\xE4\xB8\xAD"), "\xE4\xB8\xAD");
}

TEST(Utf8, EmittablePrefixHoldsBackOnlyWhatCouldStillComplete) {
  EXPECT_EQ(utf8_emittable_prefix("abc"), 3u);
  EXPECT_EQ(utf8_emittable_prefix("ab\xE4"), 2u);
  EXPECT_EQ(utf8_emittable_prefix("ab\xE4\xB8"), 2u);
  EXPECT_EQ(utf8_emittable_prefix("ab\xE4\xB8\xAD"), 5u);
  EXPECT_EQ(utf8_emittable_prefix("\xF0\x9F\x98"), 0u);
  EXPECT_EQ(utf8_emittable_prefix("a\xFF"), 2u);      // invalid now and forever: emit
  EXPECT_EQ(utf8_emittable_prefix("a\xE4" "b"), 3u);  // interrupted: emit
  EXPECT_EQ(utf8_emittable_prefix("a\xED\xA0"), 3u);  // can never become valid
  EXPECT_EQ(utf8_emittable_prefix("\x80\x80\x80"), 3u);
}

// Emitting prefixes as bytes arrive, then the rest, decodes exactly like decoding everything.
TEST(Utf8, StreamingPrefixesDecodeLikeTheWhole) {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", "\xE4", "\xB8", "\xAD", "\xF0\x9F", "\x98\x80", "\x80", "\xFF",
                                           "\xC3", "\xA9", "\xED", "\xA0", " "};
  for (int trial = 0; trial < 500; ++trial) {
    std::string all, pending, streamed;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const std::string& p = pieces[rng() % pieces.size()];
      all += p;
      pending += p;
      const size_t ready = utf8_emittable_prefix(pending);
      streamed += utf8_lossy(std::string_view(pending).substr(0, ready));
      pending.erase(0, ready);
    }
    streamed += utf8_lossy(pending);
    ASSERT_EQ(streamed, utf8_lossy(all));
  }
}

TEST(Utf8, CodePointsRoundTrip) {
  for (char32_t cp : {U'\0', U'a', U'\u00E9', U'\u4E2D', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    append_utf8(s, cp);
    size_t i = 0;
    EXPECT_EQ(next_code_point(s, i), cp);
    EXPECT_EQ(i, s.size());
    EXPECT_EQ(find_invalid_utf8(s), std::string_view::npos);
  }
  EXPECT_EQ(count_code_points("a\xC3\xA9\xF0\x9F\x98\x80"), 3u);
}

TEST(Utf8, SequenceCutShortByTheEndStopsThere) {
  // A lead byte of a 3-byte sequence with nothing after it: the position ends at the string's end.
  const std::string s = "a\xEC";
  size_t i = 1;
  next_code_point(s, i);
  EXPECT_EQ(i, s.size());
}

}  // namespace
}  // namespace kvtier::tokenizer
