#pragma once
// A KvEventSink that records what the block manager reports, for tests.
#include <vector>

#include "kv/events.h"

namespace kvtier::kv::testing {

class RecordingEventSink : public KvEventSink {
 public:
  void block_stored(BlockStoredEvent event) override { stored.push_back(std::move(event)); }
  void block_removed(BlockRemovedEvent event) override { removed.push_back(std::move(event)); }
  void all_blocks_cleared() override { ++cleared; }
  void flush() override { ++flushes; }

  std::vector<BlockStoredEvent> stored;
  std::vector<BlockRemovedEvent> removed;
  int cleared = 0;
  int flushes = 0;
};

}  // namespace kvtier::kv::testing
