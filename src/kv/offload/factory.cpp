#include "kv/offload/factory.h"

#include <spdlog/spdlog.h>

#include "kv/offload/offload_config.h"
#include "kv/offload/offload_connector.h"
#include "kv/offload/transfer.h"

namespace kvtier::kv {

Expected<std::unique_ptr<KvConnector>> create_offload_connector(const OffloadOptions& options,
                                                                const KvPool& pool) {
  KVTIER_ASSIGN_OR_RETURN(std::optional<OffloadConfig> config,
                          parse_offload_config(options, pool.layout));
  if (!config) return std::unique_ptr<KvConnector>();
  // A CPU block of k device blocks is k consecutive transfer slots.
  const int32_t k = config->blocks_per_group(pool.layout);
  KVTIER_ASSIGN_OR_RETURN(std::unique_ptr<BlockTransfer> transfer,
                          create_block_transfer(pool, config->num_cpu_blocks * k));
  const size_t cpu_block_bytes = pool.layout.block_bytes() * size_t(k);
  spdlog::info(
      "offload tier: {} CPU blocks of {} tokens, {} bytes ({:.2f} GiB), eviction {}, {}",
      config->num_cpu_blocks, config->block_size, cpu_block_bytes,
      double(config->num_cpu_blocks) * double(cpu_block_bytes) / double(1ull << 30),
      eviction_policy_name(config->eviction_policy),
      config->store_prompt_only ? "prompt blocks only" : "all blocks");
  return std::unique_ptr<KvConnector>(
      std::make_unique<CpuOffloadConnector>(*config, pool, std::move(transfer), options.events));
}

}  // namespace kvtier::kv
