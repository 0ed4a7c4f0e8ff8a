#include "server/bad_words.h"

#include <string_view>

namespace kvtier::server {
namespace {

// Python's str.lstrip() for the ASCII whitespace a word can start with.
std::string_view lstrip(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\n\r\v\f");
  return first == std::string_view::npos ? std::string_view() : s.substr(first);
}

Status check_ids(const std::vector<int32_t>& ids, size_t word, int32_t vocab_size) {
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size) {
      return invalid_argument("bad_words[{}] has token id {}, outside the vocabulary [0, {})",
                              word, id, vocab_size);
    }
  }
  return Status::ok();
}

}  // namespace

Expected<std::vector<std::vector<int32_t>>> bad_words_token_ids(
    const std::vector<std::string>& words, const TextCodec& codec, int32_t vocab_size) {
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = lstrip(words[i]);
    if (word.empty()) {
      return invalid_argument("bad_words[{}] is empty: each bad word needs at least one token", i);
    }
    auto bare = codec.encode(word);
    if (!bare) {
      return invalid_argument("bad_words[{}] cannot be tokenized: {}", i, bare.error().message());
    }
    if (bare->empty()) return invalid_argument("bad_words[{}] tokenizes to no tokens", i);
    auto spaced = codec.encode(std::string(" ").append(word));
    if (!spaced) {
      return invalid_argument("bad_words[{}] cannot be tokenized: {}", i, spaced.error().message());
    }
    KVTIER_RETURN_IF_ERROR(check_ids(*bare, i, vocab_size));
    const bool keep_spaced = !spaced->empty() && spaced->front() != bare->front() &&
                             spaced->size() == bare->size();
    out.push_back(std::move(*bare));
    if (keep_spaced) {
      KVTIER_RETURN_IF_ERROR(check_ids(*spaced, i, vocab_size));
      out.push_back(std::move(*spaced));
    }
  }
  return out;
}

}  // namespace kvtier::server
