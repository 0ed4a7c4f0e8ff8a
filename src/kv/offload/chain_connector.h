#pragma once
// A second tier whose blocks span several consecutive device blocks (vLLM's offloaded
// block_size, a multiple of the GPU block size) must know where each device block sits in its
// sequence: CPU block g of a sequence holds its device blocks [g * k, (g + 1) * k) and is keyed
// by the hash of the last of them. These calls name blocks by their sequence's chain of hashes
// (`chain[i]` keys device block i) and an index into it. KvConnector's calls are the k = 1 case.
// Engine thread only, like KvConnector.
#include <cstdint>
#include <span>

#include "kv/connector.h"

namespace kvtier::kv {

class ChainConnector {
 public:
  virtual ~ChainConnector() = default;

  // k: consecutive device blocks per tier block.
  virtual int32_t blocks_per_group() const = 0;

  // How many device blocks from index `first` the tier can supply: the rest of the group that
  // holds block `first`, then whole groups, stopping at the first group it lacks or that `chain`
  // does not cover to its end. A group only partly in `chain` is a miss.
  virtual int32_t lookup_chain(std::span<const uint64_t> chain, int32_t first) = 0;

  // Loads device blocks [first, first + dst.size()) of the sequence into `dst`, all found by
  // lookup_chain() in this step.
  virtual TransferId start_load_chain(std::span<const uint64_t> chain, int32_t first,
                                      std::span<const int32_t> dst) = 0;

  // Block `index` of the sequence (device block `table[index]`) just got its key. When it ends a
  // group, offers the group's k device blocks `table[index - k + 1 .. index]` for a store and
  // returns true if one was queued: the caller then keeps those k blocks from reuse until poll()
  // reports each of them in stored_blocks.
  virtual bool offer_chain(std::span<const uint64_t> chain, std::span<const int32_t> table,
                           int32_t index) = 0;
};

}  // namespace kvtier::kv
