#include <cstring>
#include <string_view>

#include <msgpack.hpp>

#include "kv/events/event_batch.h"

namespace kvtier::kv {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

// msgspec writes every float as float64; msgpack-c would shorten integral doubles to integers.
void pack_float64(msgpack::sbuffer& buffer, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  char bytes[9];
  bytes[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  buffer.write(bytes, sizeof bytes);
}

void pack_string(Packer& pk, std::string_view s) {
  pk.pack_str(uint32_t(s.size()));
  pk.pack_str_body(s.data(), uint32_t(s.size()));
}

void pack_hashes(Packer& pk, const std::vector<uint64_t>& hashes) {
  pk.pack_array(uint32_t(hashes.size()));
  for (uint64_t h : hashes) pk.pack_uint64(h);
}

void pack_event(Packer& pk, const BlockStoredEvent& e) {
  pk.pack_array(8);
  pack_string(pk, "BlockStored");
  pack_hashes(pk, e.block_hashes);
  if (e.parent_block_hash) {
    pk.pack_uint64(*e.parent_block_hash);
  } else {
    pk.pack_nil();
  }
  pk.pack_array(uint32_t(e.token_ids.size()));
  for (int32_t t : e.token_ids) pk.pack_int32(t);
  pk.pack_int32(e.block_size);
  pk.pack_nil();  // lora_id
  pack_string(pk, e.medium);
  pk.pack_nil();  // lora_name
}

void pack_event(Packer& pk, const BlockRemovedEvent& e) {
  pk.pack_array(3);
  pack_string(pk, "BlockRemoved");
  pack_hashes(pk, e.block_hashes);
  pack_string(pk, e.medium);
}

void pack_event(Packer& pk, const AllBlocksClearedEvent&) {
  pk.pack_array(1);
  pack_string(pk, "AllBlocksCleared");
}

}  // namespace

std::string encode_event_batch(const KvEventBatch& batch) {
  msgpack::sbuffer buffer(256);
  Packer pk(buffer);
  pk.pack_array(batch.data_parallel_rank ? 3 : 2);
  pack_float64(buffer, batch.ts);
  pk.pack_array(uint32_t(batch.events.size()));
  for (const KvEvent& event : batch.events) {
    std::visit([&pk](const auto& e) { pack_event(pk, e); }, event);
  }
  if (batch.data_parallel_rank) pk.pack_int32(*batch.data_parallel_rank);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace kvtier::kv
