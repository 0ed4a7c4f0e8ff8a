#pragma once
// Tokens listed in tokenizer.json's added_tokens (special tokens and the like). They are found in
// the text before normalization and pre-tokenization, as Hugging Face does: the leftmost match
// wins, the longest among matches starting there, honouring lstrip/rstrip/single_word, and
// tokens with normalized=true are matched in the normalized text instead.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvtier::tokenizer {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;  // swallow whitespace before the match
  bool rstrip = false;  // swallow whitespace after the match
  bool single_word = false;  // match only when not inside a word
  bool normalized = false;   // match in the normalized text
};

// A run of text: either an added token (id >= 0) or plain text to tokenize (id == -1).
struct TextPiece {
  std::string_view text;
  int32_t id = -1;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // `normalize` gives the normalized form of a token's content (identity without a normalizer).
  AddedVocabulary(std::vector<AddedToken> tokens, std::string (*normalize)(std::string_view));
  // The matchers point into tokens_: moving keeps them valid, copying would not.
  AddedVocabulary(AddedVocabulary&&) = default;
  AddedVocabulary& operator=(AddedVocabulary&&) = default;
  AddedVocabulary(const AddedVocabulary&) = delete;
  AddedVocabulary& operator=(const AddedVocabulary&) = delete;

  // Splits on tokens matched in raw text (normalized=false).
  void split_raw(std::string_view text, std::vector<TextPiece>& out) const { raw_.split(text, out); }
  // Splits normalized text on tokens with normalized=true.
  void split_normalized(std::string_view text, std::vector<TextPiece>& out) const { normalized_.split(text, out); }
  bool has_normalized_tokens() const { return !normalized_.empty(); }

  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // Byte trie over token contents, giving the longest token that starts at a position.
  class Matcher {
   public:
    void add(std::string_view pattern, const AddedToken* token);
    bool empty() const { return nodes_.size() <= 1; }
    void split(std::string_view text, std::vector<TextPiece>& out) const;

   private:
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
      const AddedToken* token = nullptr;
    };
    const AddedToken* longest_at(std::string_view text, size_t pos, size_t& length) const;
    std::vector<Node> nodes_{Node{}};
    bool first_byte_[256] = {};
  };

  std::vector<AddedToken> tokens_;
  Matcher raw_;
  Matcher normalized_;
};

}  // namespace kvtier::tokenizer
