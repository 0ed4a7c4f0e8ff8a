#pragma once
// GPU readings behind an interface: NVML loaded at run time (no build dependency on the driver)
// or a fake in tests. A field a GPU does not support stays empty and is left out of the record.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace kvtier::monitor {

struct GpuSample {
  std::string name;                         // nvidia.cardname
  std::optional<uint32_t> gpu_util;         // nvidia.gpuactive, percent
  std::optional<uint32_t> mem_util;         // nvidia.memactive, percent
  std::optional<uint64_t> mem_used;         // nvidia.memused, bytes
  std::optional<uint64_t> mem_total;        // nvidia.memtotal, bytes
  std::optional<uint64_t> mem_free;         // nvidia.memfree, bytes
  std::optional<uint32_t> temperature_c;    // nvidia.temperature
  std::optional<uint32_t> power_mw;         // nvidia.power, milliwatts
  std::optional<uint64_t> energy_mj;        // nvidia.energy, millijoules since driver load
  std::optional<uint32_t> sm_clock_mhz;     // nvidia.gpuclock
  std::optional<uint32_t> mem_clock_mhz;    // nvidia.memclock
  std::optional<uint64_t> pcie_tx_bytes_per_s;  // nvidia.pcie.tx_bytes
  std::optional<uint64_t> pcie_rx_bytes_per_s;  // nvidia.pcie.rx_bytes
};

class GpuSource {
 public:
  virtual ~GpuSource() = default;
  virtual int count() const = 0;
  // Reads GPU `index` (0 .. count()-1) now.
  virtual Expected<GpuSample> sample(int index) = 0;
};

// NVML through dlopen("libnvidia-ml.so.1") (or `library` when given). An error says why there
// is no GPU source: no library, a failed nvmlInit, or no GPUs.
Expected<std::unique_ptr<GpuSource>> open_nvml(const std::string& library = "");

}  // namespace kvtier::monitor
