#pragma once
// The KV pool a backend owns: num_blocks blocks of layout.block_bytes() each, contiguous.
// On the CPU backend `base` is host memory; on CUDA it is device memory. The engine thread is the
// only user; the offload tier moves whole blocks between it and host memory.
#include <cstddef>
#include <cstdint>

#include "kv/layout.h"

namespace kvtier::kv {

enum class Device { kCpu, kCuda };

struct KvPool {
  Device device = Device::kCpu;
  std::byte* base = nullptr;
  int32_t num_blocks = 0;
  KvLayout layout;
  std::byte* block(int32_t id) const { return base + size_t(id) * layout.block_bytes(); }
};

}  // namespace kvtier::kv
