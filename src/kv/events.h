#pragma once
// KV cache events as vLLM publishes them (BlockStored, BlockRemoved, AllBlocksCleared), for
// routers that track where prefixes live. The block manager reports GPU-medium events and the
// offload tier CPU-medium ones; a publisher batches them per step and sends them over ZMQ.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvtier::kv {

struct BlockStoredEvent {
  std::vector<uint64_t> block_hashes;
  std::optional<uint64_t> parent_block_hash;
  std::vector<int32_t> token_ids;
  int32_t block_size = 16;
  std::string medium = "GPU";   // "GPU" or "CPU"
};

struct BlockRemovedEvent {
  std::vector<uint64_t> block_hashes;
  std::string medium = "GPU";
};

// Receives events on the engine thread; implementations must not block.
class KvEventSink {
 public:
  virtual ~KvEventSink() = default;
  virtual void block_stored(BlockStoredEvent event) = 0;
  virtual void block_removed(BlockRemovedEvent event) = 0;
  virtual void all_blocks_cleared() = 0;
  // End of an engine step: the events so far form one batch.
  virtual void flush() = 0;
};

}  // namespace kvtier::kv
