#pragma once
// The second KV tier as the scheduler sees it (vLLM's KV connector, offload flavour). Implemented
// by the CPU offload tier; the engine thread is its only caller. Blocks are named by their chained
// prefix hash (kv/block_hash.h); device blocks by their id in the backend's KvPool.
#include <cstdint>
#include <span>
#include <vector>

#include "common/histogram.h"

namespace kvtier::kv {

// vllm:kv_offload_size's upper bounds, in bytes (vLLM's KV connector metrics).
inline std::vector<double> kv_offload_size_buckets() {
  return {1e6, 5e6, 10e6, 20e6, 40e6, 60e6, 80e6, 100e6, 150e6, 200e6};
}

using TransferId = uint64_t;

struct ConnectorStats {
  int32_t num_blocks = 0;          // capacity of the tier
  int32_t num_used_blocks = 0;     // blocks holding data
  int32_t loads_in_flight = 0;
  int32_t stores_in_flight = 0;
  uint64_t store_bytes = 0, load_bytes = 0;      // cumulative
  double store_seconds = 0, load_seconds = 0;    // cumulative wall time of completed transfers
  uint64_t stores = 0, loads = 0;                // completed transfers
  uint64_t stored_blocks = 0, loaded_blocks = 0;  // blocks moved by those transfers
  uint64_t evictions = 0;                        // blocks evicted to make room for stores
  uint64_t failed_stores = 0, failed_loads = 0;  // transfers (batches) that failed
  // Bytes of each completed transfer (vllm:kv_offload_size); empty bounds when not recorded.
  HistogramSnapshot store_sizes, load_sizes;
};

class KvConnector {
 public:
  virtual ~KvConnector() = default;

  // How many of `hashes`, from the first, the tier holds (stops at the first miss).
  virtual int32_t lookup(std::span<const uint64_t> hashes) = 0;

  // Starts copying the tier's blocks for `hashes` into device blocks `dst` (same length, all
  // found by lookup() in this step). The tier keeps them from eviction until the load completes.
  virtual TransferId start_load(std::span<const uint64_t> hashes, std::span<const int32_t> dst) = 0;

  // Offers a newly full device block. Returns true when a store was queued: the engine then keeps
  // the device block from reuse until poll() reports it stored. False when the tier already holds
  // (or is storing) the hash, or has no evictable room.
  virtual bool offer_store(uint64_t hash, int32_t device_block) = 0;

  struct Completed {
    std::vector<TransferId> loads;        // finished loads: their device blocks hold the data
    // Loads that failed: their device blocks hold garbage, and the tier has dropped the blocks
    // they read. The caller must recompute those tokens, never use the blocks as computed.
    std::vector<TransferId> failed_loads;
    // Device blocks whose store finished, successfully or not: the caller releases them alike.
    // A failed store's blocks never become hits of the tier.
    std::vector<int32_t> stored_blocks;
  };
  // Once per step, after the forward pass: submits the stores queued since the last call (their
  // source blocks are complete now) and reports transfers that finished. Never blocks. Every
  // started load is reported exactly once, in `loads` or in `failed_loads`.
  virtual Completed poll() = 0;

  // Blocks until every transfer in flight has finished (shutdown, tests).
  virtual void drain() = 0;

  virtual ConnectorStats stats() const = 0;

  // True when the tier wants only blocks made entirely of prompt tokens offered to offer_store()
  // (kv_connector_extra_config "store_prompt_only"); the scheduler then skips blocks that hold
  // generated tokens.
  virtual bool store_prompt_only() const { return false; }
};

}  // namespace kvtier::kv
