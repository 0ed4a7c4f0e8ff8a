#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer {
namespace {

// Start of the character that ends `s` (non-empty, valid UTF-8).
size_t last_char_start(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

char32_t last_char(std::string_view s) {
  size_t i = last_char_start(s);
  return next_code_point(s, i);
}

char32_t first_char(std::string_view s) {
  size_t i = 0;
  return next_code_point(s, i);
}

// Start of the run of whitespace that ends `s`.
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    const size_t start = last_char_start(s.substr(0, end));
    size_t i = start;
    if (!is_unicode_whitespace(next_code_point(s, i))) break;
    end = start;
  }
  return end;
}

// Length of the run of whitespace that starts `s`.
size_t leading_space_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_unicode_whitespace(next_code_point(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, std::string (*normalize)(std::string_view))
    : tokens_(std::move(tokens)) {
  for (const AddedToken& token : tokens_) {
    if (token.content.empty()) continue;
    if (token.normalized) {
      normalized_.add(normalize(token.content), &token);
    } else {
      raw_.add(token.content, &token);
    }
  }
}

void AddedVocabulary::Matcher::add(std::string_view pattern, const AddedToken* token) {
  int32_t node = 0;
  for (char ch : pattern) {
    const auto byte = static_cast<uint8_t>(ch);
    auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, uint8_t b) { return child.first < b; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<int32_t>(nodes_.size());
    children.insert(it, {byte, next});
    nodes_.emplace_back();
    node = next;
  }
  // A later token with the same content replaces the earlier one.
  nodes_[node].token = token;
  first_byte_[static_cast<uint8_t>(pattern[0])] = true;
}

const AddedToken* AddedVocabulary::Matcher::longest_at(std::string_view text, size_t pos, size_t& length) const {
  const AddedToken* best = nullptr;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, uint8_t b) { return child.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    if (nodes_[node].token != nullptr) {
      best = nodes_[node].token;
      length = i + 1 - pos;
    }
  }
  return best;
}

void AddedVocabulary::Matcher::split(std::string_view text, std::vector<TextPiece>& out) const {
  if (empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  size_t emitted = 0;  // end of what `out` already covers
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const AddedToken* token = longest_at(text, pos, length);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + length;
    // Scanning resumes after the match as found, whatever the flags below do with it.
    pos = stop;
    if (token->single_word) {
      const bool space_before = start == 0 || !is_word_char(last_char(text.substr(0, start)));
      const bool space_after = stop == text.size() || !is_word_char(first_char(text.substr(stop)));
      if (!space_before || !space_after) continue;
    }
    if (token->lstrip) start = std::max(trailing_space_start(text.substr(0, start)), emitted);
    if (token->rstrip) stop += leading_space_length(text.substr(stop));
    if (emitted < start) out.push_back({text.substr(emitted, start - emitted), -1});
    out.push_back({text.substr(start, stop - start), token->id});
    emitted = stop;
  }
  if (emitted < text.size()) out.push_back({text.substr(emitted), -1});
}

}  // namespace kvtier::tokenizer
