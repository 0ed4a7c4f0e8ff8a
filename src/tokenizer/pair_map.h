#pragma once
// Open-addressing hash map from a pair of token ids to the merge it makes: the BPE inner loop
// looks up every adjacent pair, so this sits on the hot path. Built once at load, then read-only.
#include <cstdint>
#include <optional>
#include <vector>

namespace kvtier::tokenizer {

struct Merge {
  int32_t rank;
  int32_t merged_id;
};

class PairMap {
 public:
  void reserve(size_t n);
  // A later insert of the same pair replaces the earlier one (as a Rust HashMap collect does).
  void insert(int32_t left, int32_t right, Merge merge);
  const Merge* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  static size_t hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<size_t>(key);
  }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace kvtier::tokenizer
