#pragma once
// The few CBOR items vLLM's sha256_cbor hashes (cbor2.dumps(value, canonical=True) of
// (parent, tuple of token ids, extra keys)): unsigned and negative integers, byte strings, text
// strings, arrays and null, each with the shortest head (RFC 8949 section 4.2.1). A hand-written
// writer because a block's payload is hashed on every newly full block: building an
// nlohmann::json per block to call to_cbor would cost more than the SHA-256 itself.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace kvtier::kv {

class CborWriter {
 public:
  void clear() { out_.clear(); }
  std::span<const uint8_t> bytes() const { return out_; }

  void integer(int64_t v) {
    if (v >= 0) {
      head(0, uint64_t(v));
    } else {
      head(1, uint64_t(-1 - v));
    }
  }
  void unsigned_integer(uint64_t v) { head(0, v); }
  void byte_string(std::span<const uint8_t> b) {
    head(2, b.size());
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void text(std::string_view s) {
    head(3, s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void array(uint64_t n) { head(4, n); }
  void null() { out_.push_back(0xf6); }

 private:
  // Major type in the top 3 bits; the argument inline below 24, else in 1, 2, 4 or 8 bytes
  // big-endian, whichever is shortest.
  void head(uint8_t major, uint64_t n) {
    const uint8_t m = uint8_t(major << 5);
    if (n < 24) {
      out_.push_back(uint8_t(m | n));
      return;
    }
    int bytes = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffull ? 4 : 8;
    out_.push_back(uint8_t(m | (bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27)));
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(uint8_t(n >> (8 * i)));
  }

  std::vector<uint8_t> out_;
};

}  // namespace kvtier::kv
