#pragma once
// Decodes the msgpack payload of one vLLM KV event message (the third frame of
// [topic, sequence, payload]). vLLM's msgspec structs come in two encodings, both accepted:
//   arrays (array_like, older releases): [ts, [event...], dp_rank?], event = ["BlockStored",
//     block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium, lora_name, ...]
//   maps (current releases): {"ts", "events", "data_parallel_rank"}, event = {"type":
//     "BlockStored", "block_hashes", ...}
// Block hashes are integers (signed ones are reinterpreted as uint64) or bytes (the last 8 bytes,
// big-endian). A missing or nil medium means "GPU"; a missing rank leaves data_parallel_rank unset.
#include <cstdint>
#include <span>

#include "common/status.h"
#include "kv/events/event_batch.h"

namespace kvtier::router {

// The engine's own event types (kv/events/event_batch.h): what its publisher encodes, decoded.
using kv::AllBlocksClearedEvent;
using kv::KvEvent;
using kv::KvEventBatch;

Expected<KvEventBatch> decode_kv_event_batch(std::span<const uint8_t> payload);

}  // namespace kvtier::router
