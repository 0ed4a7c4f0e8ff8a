#pragma once
// The CPU offload tier's settings, from vLLM's flags:
//   --kv-transfer-config '{"kv_connector":"OffloadingConnector","kv_role":"kv_both",
//                          "kv_connector_extra_config":{"num_cpu_blocks":10000}}'
//   --kv-offloading-size GiB [--kv-offloading-backend native]
// kv_connector_extra_config keys:
//   num_cpu_blocks     blocks in the tier (vLLM <= 0.11)
//   cpu_bytes_to_use   the tier's size in bytes (newer vLLM); exclusive with num_cpu_blocks
//   eviction_policy    "lru" (default) or "arc"
//   block_size         tokens per CPU block, a multiple of the GPU block size: one CPU block
//                      holds that many consecutive GPU blocks of a sequence (vLLM's
//                      offloaded_block_size); num_cpu_blocks and the byte sizes count CPU blocks
//   store_prompt_only  true: the engine offers only blocks made entirely of prompt tokens
//   spec_name          "CPUOffloadingSpec" (the only spec), spec_module_path (vLLM's own module)
//   store_threshold    0 or 1 (no reuse filter; larger values are not supported)
// kv_role: kv_both stores and loads; kv_producer only stores; kv_consumer only loads.
#include <algorithm>
#include <cstdint>
#include <optional>

#include "common/status.h"
#include "kv/layout.h"
#include "kv/offload/eviction_policy.h"
#include "kv/offload/factory.h"

namespace kvtier::kv {

enum class KvRole { kBoth, kProducer, kConsumer };

struct OffloadConfig {
  int32_t num_cpu_blocks = 0;
  EvictionPolicyKind eviction_policy = EvictionPolicyKind::kLru;
  int32_t block_size = 16;  // tokens per CPU block, a multiple of the GPU block size

  // GPU blocks per CPU block.
  int32_t blocks_per_group(const KvLayout& layout) const {
    return layout.block_size > 0 ? std::max(1, block_size / layout.block_size) : 1;
  }
  KvRole role = KvRole::kBoth;
  bool store_prompt_only = false;
};

// nullopt when the options configure no offloading. Errors name the flag and key at fault.
Expected<std::optional<OffloadConfig>> parse_offload_config(const OffloadOptions& options,
                                                            const KvLayout& layout);

}  // namespace kvtier::kv
