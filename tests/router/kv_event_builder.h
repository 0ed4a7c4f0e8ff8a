#pragma once
// Builds vLLM KV event payloads byte by byte as msgspec encodes them, in both of its layouts
// (array_like structs in older releases, maps in current ones), for the decoder and subscriber
// tests.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <msgpack.hpp>

namespace kvtier::router::testing {

struct StoredSpec {
  std::vector<uint64_t> hashes;
  std::optional<std::string> medium;  // nullopt encodes nil
  std::optional<uint64_t> parent;
  std::vector<int32_t> tokens;
  int32_t block_size = 16;
};

struct RemovedSpec {
  std::vector<uint64_t> hashes;
  std::optional<std::string> medium;
};

inline StoredSpec stored_spec(std::vector<uint64_t> hashes, std::optional<std::string> medium,
                              std::optional<uint64_t> parent = std::nullopt,
                              std::vector<int32_t> tokens = {}, int32_t block_size = 16) {
  StoredSpec s;
  s.hashes = std::move(hashes);
  s.medium = std::move(medium);
  s.parent = parent;
  s.tokens = std::move(tokens);
  s.block_size = block_size;
  return s;
}

inline RemovedSpec removed_spec(std::vector<uint64_t> hashes, std::optional<std::string> medium) {
  RemovedSpec r;
  r.hashes = std::move(hashes);
  r.medium = std::move(medium);
  return r;
}

class KvBatchBuilder {
 public:
  explicit KvBatchBuilder(bool as_maps) : as_maps_(as_maps) {}

  KvBatchBuilder& stored(StoredSpec s) {
    events_.push_back([this, s](Packer& p) {
      if (as_maps_) {
        p.pack_map(8);
        key(p, "type");
        p.pack(std::string("BlockStored"));
        key(p, "block_hashes");
        p.pack(s.hashes);
        key(p, "parent_block_hash");
        if (s.parent) p.pack(*s.parent); else p.pack_nil();
        key(p, "token_ids");
        p.pack(s.tokens);
        key(p, "block_size");
        p.pack(s.block_size);
        key(p, "lora_id");
        p.pack_nil();
        key(p, "medium");
        if (s.medium) p.pack(*s.medium); else p.pack_nil();
        key(p, "lora_name");
        p.pack_nil();
      } else {
        p.pack_array(8);
        p.pack(std::string("BlockStored"));
        p.pack(s.hashes);
        if (s.parent) p.pack(*s.parent); else p.pack_nil();
        p.pack(s.tokens);
        p.pack(s.block_size);
        p.pack_nil();
        if (s.medium) p.pack(*s.medium); else p.pack_nil();
        p.pack_nil();
      }
    });
    return *this;
  }

  KvBatchBuilder& removed(RemovedSpec r) {
    events_.push_back([this, r](Packer& p) {
      if (as_maps_) {
        p.pack_map(3);
        key(p, "type");
        p.pack(std::string("BlockRemoved"));
        key(p, "block_hashes");
        p.pack(r.hashes);
        key(p, "medium");
        if (r.medium) p.pack(*r.medium); else p.pack_nil();
      } else {
        p.pack_array(3);
        p.pack(std::string("BlockRemoved"));
        p.pack(r.hashes);
        if (r.medium) p.pack(*r.medium); else p.pack_nil();
      }
    });
    return *this;
  }

  KvBatchBuilder& cleared() {
    events_.push_back([this](Packer& p) {
      if (as_maps_) {
        p.pack_map(1);
        key(p, "type");
        p.pack(std::string("AllBlocksCleared"));
      } else {
        p.pack_array(1);
        p.pack(std::string("AllBlocksCleared"));
      }
    });
    return *this;
  }

  std::string build(double ts = 1712345678.25, std::optional<int> dp_rank = 0) const {
    msgpack::sbuffer buffer;
    Packer p(buffer);
    const uint32_t fields = dp_rank ? 3 : 2;
    if (as_maps_) {
      p.pack_map(fields);
      key(p, "ts");
      p.pack(ts);
      key(p, "events");
    } else {
      p.pack_array(fields);
      p.pack(ts);
    }
    p.pack_array(uint32_t(events_.size()));
    for (const auto& e : events_) e(p);
    if (dp_rank) {
      if (as_maps_) key(p, "data_parallel_rank");
      p.pack(*dp_rank);
    }
    return std::string(buffer.data(), buffer.size());
  }

 private:
  using Packer = msgpack::packer<msgpack::sbuffer>;
  static void key(Packer& p, const char* k) { p.pack(std::string(k)); }

  bool as_maps_;
  std::vector<std::function<void(Packer&)>> events_;
};

}  // namespace kvtier::router::testing
