#pragma once
// The byte-level BPE model of tokenizer.json: a vocabulary and ranked merges, applied to one
// pre-token at a time. Read-only after build() except for the internal word cache, which is
// thread-safe, so one model serves all threads.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tokenizer/pair_map.h"
#include "tokenizer/word_cache.h"

namespace kvtier::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct BpeConfig {
  Vocab vocab;  // byte-level spelling -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool ignore_merges = false;  // a pre-token found whole in the vocabulary is one token
};

class BpeModel {
 public:
  // `where` prefixes error messages (the file the configuration came from).
  static Expected<std::unique_ptr<BpeModel>> build(BpeConfig config, std::string_view where);

  // Appends the ids of one pre-token, given as raw bytes.
  void encode_word(std::string_view bytes, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const Vocab& vocab() const { return vocab_; }
  size_t num_merges() const { return merges_.size(); }
  size_t cached_words() const { return cache_.size(); }

 private:
  BpeModel() : cache_(kCacheCapacity) {}
  void merge_word(std::string_view bytes, std::vector<int32_t>& out) const;

  static constexpr size_t kCacheCapacity = 1 << 16;
  static constexpr size_t kMaxCachedWordBytes = 256;

  Vocab vocab_;
  PairMap merges_;
  std::array<int32_t, 256> byte_ids_{};  // id of each byte's one-character token, -1 if absent
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  mutable WordCache cache_;
};

}  // namespace kvtier::tokenizer
