#pragma once
// A GpuSource with readings the test chooses; `calls` counts sample() calls per GPU.
#include <vector>

#include "common/cpu_time.h"
#include "monitor/gpu_source.h"

namespace kvtier::monitor::testing {

class FakeGpuSource : public GpuSource {
 public:
  explicit FakeGpuSource(std::vector<GpuSample> gpus) : gpus_(std::move(gpus)), calls_(gpus_.size()) {}
  int count() const override { return static_cast<int>(gpus_.size()); }
  Expected<GpuSample> sample(int index) override {
    const int call = calls_.at(index)++;
    if (fail_on_call >= 0 && call == fail_on_call && index == 0) {
      return make_error(ErrorCode::kUnavailable, "gpu0: scripted NVML failure");
    }
    if (burn_cpu_s > 0) {  // stands in for the driver's CPU time per query
      const double until = this_thread_cpu_seconds() + burn_cpu_s;
      while (this_thread_cpu_seconds() < until) {
      }
    }
    GpuSample s = gpus_.at(index);
    if (index == 0 && s.gpu_util && step_util) *s.gpu_util += static_cast<uint32_t>(call * step_util);
    return s;
  }
  int fail_on_call = -1;  // gpu0's n-th reading fails
  int step_util = 0;      // gpu0's gpu_util grows by this much per reading
  double burn_cpu_s = 0;  // CPU seconds each reading spends

 private:
  std::vector<GpuSample> gpus_;
  std::vector<int> calls_;
};

inline GpuSample fake_gpu(uint32_t util, uint64_t mem_used, uint64_t tx, uint64_t rx) {
  GpuSample s;
  s.name = "NVIDIA H100 80GB HBM3";
  s.gpu_util = util;
  s.mem_util = util / 2;
  s.mem_used = mem_used;
  s.mem_total = 85899345920ull;
  s.mem_free = 85899345920ull - mem_used;
  s.temperature_c = 41;
  s.power_mw = 123456;
  s.energy_mj = 987654321;
  s.sm_clock_mhz = 1980;
  s.mem_clock_mhz = 2619;
  s.pcie_tx_bytes_per_s = tx;
  s.pcie_rx_bytes_per_s = rx;
  return s;
}

}  // namespace kvtier::monitor::testing
