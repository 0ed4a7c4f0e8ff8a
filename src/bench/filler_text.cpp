#include "bench/filler_text.h"

#include <cctype>
#include <iterator>
#include <string_view>

namespace kvtier::bench {
namespace {

constexpr std::string_view kWords[] = {
    "time",       "year",      "people",    "way",       "day",         "man",       "thing",
    "woman",      "life",      "child",     "world",     "school",      "state",     "family",
    "student",    "group",     "country",   "problem",   "hand",        "part",      "place",
    "case",       "week",      "company",   "system",    "program",     "question",  "work",
    "government", "number",    "night",     "point",     "home",        "water",     "room",
    "mother",     "area",      "money",     "story",     "fact",        "month",     "lot",
    "right",      "study",     "book",      "eye",       "job",         "word",      "business",
    "issue",      "side",      "kind",      "head",      "house",       "service",   "friend",
    "father",     "power",     "hour",      "game",      "line",        "end",       "member",
    "law",        "car",       "city",      "community", "name",        "president", "team",
    "minute",     "idea",      "kid",       "body",      "information", "back",      "parent",
    "face",       "others",    "level",     "office",    "door",        "health",    "person",
    "art",        "war",       "history",   "party",     "result",      "change",    "morning",
    "reason",     "research",  "girl",      "guy",       "moment",      "air",       "teacher",
    "force",      "education", "be",        "have",      "do",          "say",       "get",
    "make",       "go",        "know",      "take",      "see",         "come",      "think",
    "look",       "want",      "give",      "use",       "find",        "tell",      "ask",
    "seem",       "feel",      "try",       "leave",     "call",        "good",      "new",
    "first",      "last",      "long",      "great",     "little",      "own",       "other",
    "old",        "big",       "high",      "different", "small",       "large",     "next",
    "early",      "young",     "important", "few",       "public",      "bad",       "same",
    "able",       "often",     "also",      "still",     "never",       "always",    "really",
    "almost",     "together",  "already",   "enough",    "quickly",     "probably",
};

}  // namespace

void append_filler_text(Random& rng, size_t min_chars, std::string& out) {
  const size_t target = out.size() + min_chars;
  while (out.size() < target) {
    const int64_t words = rng.uniform_int(4, 14);
    for (int64_t i = 0; i < words; ++i) {
      std::string_view w = kWords[static_cast<size_t>(
          rng.uniform_int(0, static_cast<int64_t>(std::size(kWords)) - 1))];
      if (i == 0) {
        out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(w[0]))));
        out.append(w.substr(1));
      } else {
        out.push_back(' ');
        out.append(w);
      }
    }
    out.append(". ");
  }
}

}  // namespace kvtier::bench
