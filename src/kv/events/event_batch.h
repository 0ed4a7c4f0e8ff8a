#pragma once
// One engine step's KV events as they travel to subscribers: vLLM's KVEventBatch.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kv/events.h"

namespace kvtier::kv {

struct AllBlocksClearedEvent {};

using KvEvent = std::variant<BlockStoredEvent, BlockRemovedEvent, AllBlocksClearedEvent>;

struct KvEventBatch {
  double ts = 0;  // wall-clock seconds since the Unix epoch
  std::vector<KvEvent> events;
  std::optional<int32_t> data_parallel_rank = 0;
};

// vLLM's msgspec encoding (the array layout that llm-d decodes):
//   batch:            [ts (float64), [event...], data_parallel_rank]   (rank left out when unset)
//   BlockStored:      ["BlockStored", [hash...], parent_hash | nil, [token_id...], block_size,
//                      lora_id (nil), medium, lora_name (nil)]
//   BlockRemoved:     ["BlockRemoved", [hash...], medium]
//   AllBlocksCleared: ["AllBlocksCleared"]
// Integers use msgpack's shortest form, hashes as unsigned 64-bit values.
std::string encode_event_batch(const KvEventBatch& batch);

}  // namespace kvtier::kv
