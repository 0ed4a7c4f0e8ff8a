#include "router/kv_event_decoder.h"

#include <string_view>

#include <msgpack.hpp>

namespace kvtier::router {
namespace {

using msgpack::object;
namespace mtype = msgpack::type;

std::string_view as_str(const object& o) {
  if (o.type == mtype::STR) return {o.via.str.ptr, o.via.str.size};
  if (o.type == mtype::BIN) return {o.via.bin.ptr, o.via.bin.size};
  return {};
}

bool is_nil(const object* o) { return o == nullptr || o->type == mtype::NIL; }

Expected<uint64_t> to_hash(const object& o, std::string_view field) {
  switch (o.type) {
    case mtype::POSITIVE_INTEGER:
      return o.via.u64;
    case mtype::NEGATIVE_INTEGER:
      return static_cast<uint64_t>(o.via.i64);
    case mtype::BIN: {
      if (o.via.bin.size == 0) return data_loss("KV event: '{}' holds empty bytes", field);
      uint64_t h = 0;
      const size_t n = std::min<size_t>(8, o.via.bin.size);
      const auto* p = reinterpret_cast<const unsigned char*>(o.via.bin.ptr) + o.via.bin.size - n;
      for (size_t i = 0; i < n; ++i) h = (h << 8) | p[i];
      return h;
    }
    default:
      return data_loss("KV event: '{}' must be an integer or bytes", field);
  }
}

Expected<int64_t> to_int(const object& o, std::string_view field) {
  if (o.type == mtype::POSITIVE_INTEGER && o.via.u64 <= uint64_t(INT64_MAX)) {
    return static_cast<int64_t>(o.via.u64);
  }
  if (o.type == mtype::NEGATIVE_INTEGER) return o.via.i64;
  return data_loss("KV event: '{}' must be an integer", field);
}

Expected<std::vector<uint64_t>> to_hashes(const object* o, std::string_view field) {
  if (!o || o->type != mtype::ARRAY) return data_loss("KV event: '{}' must be a list", field);
  std::vector<uint64_t> out;
  out.reserve(o->via.array.size);
  for (uint32_t i = 0; i < o->via.array.size; ++i) {
    KVTIER_ASSIGN_OR_RETURN(uint64_t h, to_hash(o->via.array.ptr[i], field));
    out.push_back(h);
  }
  return out;
}

Expected<std::string> to_medium(const object* o) {
  if (is_nil(o)) return std::string("GPU");
  if (o->type != mtype::STR) return data_loss("KV event: 'medium' must be a string");
  return std::string(as_str(*o));
}

// The fields of one event by name, whichever encoding carried them.
class EventFields {
 public:
  static Expected<EventFields> read(const object& event) {
    EventFields f;
    if (event.type == mtype::ARRAY) {
      if (event.via.array.size == 0) return data_loss("KV event: empty event array");
      f.tag_ = as_str(event.via.array.ptr[0]);
      f.array_ = &event;
    } else if (event.type == mtype::MAP) {
      f.map_ = &event;
      const object* tag = f.by_key("type");
      if (tag) f.tag_ = as_str(*tag);
    } else {
      return data_loss("KV event: an event must be an array or a map");
    }
    if (f.tag_.empty()) return data_loss("KV event: event without a type tag");
    return f;
  }

  std::string_view tag() const { return tag_; }
  // `position` counts fields after the tag in the array encoding.
  const object* get(std::string_view name, uint32_t position) const {
    if (array_) {
      const uint32_t i = position + 1;
      return i < array_->via.array.size ? &array_->via.array.ptr[i] : nullptr;
    }
    return by_key(name);
  }

 private:
  const object* by_key(std::string_view name) const {
    for (uint32_t i = 0; i < map_->via.map.size; ++i) {
      const auto& kv = map_->via.map.ptr[i];
      if (kv.key.type == mtype::STR && as_str(kv.key) == name) return &kv.val;
    }
    return nullptr;
  }

  const object* array_ = nullptr;
  const object* map_ = nullptr;
  std::string_view tag_;
};

Expected<KvEvent> decode_event(const object& o) {
  KVTIER_ASSIGN_OR_RETURN(EventFields f, EventFields::read(o));
  if (f.tag() == "BlockStored") {
    kv::BlockStoredEvent e;
    KVTIER_ASSIGN_OR_RETURN(e.block_hashes, to_hashes(f.get("block_hashes", 0), "block_hashes"));
    if (const object* parent = f.get("parent_block_hash", 1); !is_nil(parent)) {
      KVTIER_ASSIGN_OR_RETURN(uint64_t p, to_hash(*parent, "parent_block_hash"));
      e.parent_block_hash = p;
    }
    if (const object* tokens = f.get("token_ids", 2); !is_nil(tokens)) {
      if (tokens->type != mtype::ARRAY) return data_loss("KV event: 'token_ids' must be a list");
      e.token_ids.reserve(tokens->via.array.size);
      for (uint32_t i = 0; i < tokens->via.array.size; ++i) {
        KVTIER_ASSIGN_OR_RETURN(int64_t t, to_int(tokens->via.array.ptr[i], "token_ids"));
        e.token_ids.push_back(static_cast<int32_t>(t));
      }
    }
    if (const object* bs = f.get("block_size", 3); !is_nil(bs)) {
      KVTIER_ASSIGN_OR_RETURN(int64_t b, to_int(*bs, "block_size"));
      e.block_size = static_cast<int32_t>(b);
    }
    KVTIER_ASSIGN_OR_RETURN(e.medium, to_medium(f.get("medium", 5)));
    return KvEvent(std::move(e));
  }
  if (f.tag() == "BlockRemoved") {
    kv::BlockRemovedEvent e;
    KVTIER_ASSIGN_OR_RETURN(e.block_hashes, to_hashes(f.get("block_hashes", 0), "block_hashes"));
    KVTIER_ASSIGN_OR_RETURN(e.medium, to_medium(f.get("medium", 1)));
    return KvEvent(std::move(e));
  }
  if (f.tag() == "AllBlocksCleared") return KvEvent(AllBlocksClearedEvent{});
  return data_loss("KV event: unknown event type '{}'", f.tag());
}

Expected<KvEventBatch> decode_batch(const object& root) {
  const object* ts = nullptr;
  const object* events = nullptr;
  const object* rank = nullptr;
  if (root.type == mtype::ARRAY) {
    if (root.via.array.size < 2) return data_loss("KV event batch: expected [ts, events, ...]");
    ts = &root.via.array.ptr[0];
    events = &root.via.array.ptr[1];
    if (root.via.array.size > 2) rank = &root.via.array.ptr[2];
  } else if (root.type == mtype::MAP) {
    for (uint32_t i = 0; i < root.via.map.size; ++i) {
      const auto& kv = root.via.map.ptr[i];
      const std::string_view key = as_str(kv.key);
      if (key == "ts") ts = &kv.val;
      if (key == "events") events = &kv.val;
      if (key == "data_parallel_rank") rank = &kv.val;
    }
  } else {
    return data_loss("KV event batch: expected an array or a map");
  }
  KvEventBatch batch;
  batch.data_parallel_rank.reset();
  if (ts && (ts->type == mtype::FLOAT64 || ts->type == mtype::FLOAT32)) {
    batch.ts = ts->via.f64;
  } else if (ts && ts->type == mtype::POSITIVE_INTEGER) {
    batch.ts = double(ts->via.u64);
  } else {
    return data_loss("KV event batch: 'ts' must be a number");
  }
  if (!events || events->type != mtype::ARRAY) {
    return data_loss("KV event batch: 'events' must be a list");
  }
  for (uint32_t i = 0; i < events->via.array.size; ++i) {
    KVTIER_ASSIGN_OR_RETURN(KvEvent e, decode_event(events->via.array.ptr[i]));
    batch.events.push_back(std::move(e));
  }
  if (!is_nil(rank)) {
    KVTIER_ASSIGN_OR_RETURN(int64_t r, to_int(*rank, "data_parallel_rank"));
    batch.data_parallel_rank = static_cast<int32_t>(r);
  }
  return batch;
}

}  // namespace

Expected<KvEventBatch> decode_kv_event_batch(std::span<const uint8_t> payload) {
  try {
    // Every element takes at least one byte, so no honest count exceeds the payload size; the
    // limit keeps a corrupt length from allocating gigabytes.
    const size_t n = payload.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, 32);
    msgpack::object_handle handle = msgpack::unpack(
        reinterpret_cast<const char*>(payload.data()), n, nullptr, nullptr, limit);
    return decode_batch(handle.get());
  } catch (const std::exception& e) {
    return data_loss("KV event batch: malformed msgpack ({} bytes): {}", payload.size(),
                     e.what());
  }
}

}  // namespace kvtier::router
