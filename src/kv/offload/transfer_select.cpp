// The one place that maps a pool's device to its BlockTransfer implementation.
#include "kv/offload/cpu_transfer.h"
#include "kv/offload/transfer.h"

#ifdef KVTIER_HAVE_CUDA
#include "kv/offload/cuda/cuda_transfer.h"
#endif

namespace kvtier::kv {

Expected<std::unique_ptr<BlockTransfer>> create_block_transfer(const KvPool& pool,
                                                               int32_t num_host_slots) {
  switch (pool.device) {
    case Device::kCpu:
      return create_cpu_block_transfer(pool, num_host_slots);
    case Device::kCuda:
#ifdef KVTIER_HAVE_CUDA
      return create_cuda_block_transfer(pool, num_host_slots);
#else
      return make_error(
          ErrorCode::kUnimplemented,
          "offload tier: the KV pool is on device cuda but this build has no CUDA backend");
#endif
  }
  return internal_error("offload tier: unknown KV pool device {}", int(pool.device));
}

}  // namespace kvtier::kv
