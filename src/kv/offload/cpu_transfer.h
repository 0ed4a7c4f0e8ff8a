#pragma once
// The CPU BlockTransfer: host slots in anonymous memory made resident when the transfer is created
// (creation fails, naming num_cpu_blocks, when the host lacks the memory), copies done by worker
// threads with memcpy. A batch is cut into at most one byte range per worker (each at least
// min_bytes_per_thread), so a single large block still spreads over the workers. The workers are
// named "kv-offload" (thread names show in top -H and /proc/<pid>/task/*/comm).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/status.h"
#include "kv/offload/clock.h"
#include "kv/offload/transfer.h"
#include "kv/pool.h"

namespace kvtier::kv {

struct CpuTransferOptions {
  int32_t num_threads = 0;                // 0: one per two hardware threads, at least 1, at most 4
  size_t min_bytes_per_thread = 1 << 20;  // smaller batches run on one worker
  Clock* clock = nullptr;                 // nullptr: steady_clock()
};

Expected<std::unique_ptr<BlockTransfer>> create_cpu_block_transfer(
    const KvPool& pool, int32_t num_host_slots, const CpuTransferOptions& options = {});

}  // namespace kvtier::kv
