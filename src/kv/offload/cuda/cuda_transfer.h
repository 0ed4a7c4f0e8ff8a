#pragma once
// The CUDA BlockTransfer: pinned host slots (cudaHostAlloc), stores and loads on their own copy
// streams ordered after the compute stream with events, one cudaMemcpyAsync per block, completion
// polled with cudaEventQuery. Built only with the CUDA backend; create_block_transfer() calls it
// for pools on Device::kCuda.
#include <cstdint>
#include <memory>

#include "common/status.h"
#include "kv/offload/transfer.h"
#include "kv/pool.h"

namespace kvtier::kv {

Expected<std::unique_ptr<BlockTransfer>> create_cuda_block_transfer(const KvPool& pool,
                                                                   int32_t num_host_slots);

}  // namespace kvtier::kv
