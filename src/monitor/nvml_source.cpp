// GpuSource over NVML, resolved with dlopen/dlsym so the binary runs (and builds) where the
// driver is absent. The few NVML declarations needed are restated here from nvml.h.
#include <dlfcn.h>

#include <vector>

#include "monitor/gpu_source.h"

namespace kvtier::monitor {
namespace {

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
constexpr int kClockSm = 1;         // NVML_CLOCK_SM
constexpr int kClockMem = 2;        // NVML_CLOCK_MEM
constexpr int kPcieTxBytes = 0;     // NVML_PCIE_UTIL_TX_BYTES
constexpr int kPcieRxBytes = 1;     // NVML_PCIE_UTIL_RX_BYTES

struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct NvmlApi {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*device_count)(unsigned int*);
  nvmlReturn_t (*handle_by_index)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*utilization)(nvmlDevice_t, NvmlUtilization*);
  nvmlReturn_t (*memory)(nvmlDevice_t, NvmlMemory*);
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*);
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*);
  nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long*);
  nvmlReturn_t (*clock)(nvmlDevice_t, int, unsigned int*);
  nvmlReturn_t (*pcie_throughput)(nvmlDevice_t, int, unsigned int*);
};

template <typename F>
bool resolve(void* lib, const char* symbol, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, symbol));
  return out != nullptr;
}

class NvmlSource final : public GpuSource {
 public:
  NvmlSource(void* lib, NvmlApi api, std::vector<nvmlDevice_t> devices)
      : lib_(lib), api_(api), devices_(std::move(devices)) {}
  ~NvmlSource() override {
    api_.shutdown();
    dlclose(lib_);
  }

  int count() const override { return static_cast<int>(devices_.size()); }

  Expected<GpuSample> sample(int index) override {
    if (index < 0 || index >= count()) return invalid_argument("no GPU {}", index);
    nvmlDevice_t d = devices_[index];
    GpuSample s;
    char name[96] = {};
    if (api_.name(d, name, sizeof(name)) == kNvmlSuccess) s.name = name;
    NvmlUtilization util{};
    if (api_.utilization(d, &util) == kNvmlSuccess) {
      s.gpu_util = util.gpu;
      s.mem_util = util.memory;
    }
    NvmlMemory mem{};
    if (api_.memory(d, &mem) == kNvmlSuccess) {
      s.mem_total = mem.total;
      s.mem_free = mem.free;
      s.mem_used = mem.used;
    }
    unsigned int v = 0;
    if (api_.temperature(d, kTemperatureGpu, &v) == kNvmlSuccess) s.temperature_c = v;
    if (api_.power(d, &v) == kNvmlSuccess) s.power_mw = v;
    unsigned long long energy = 0;
    if (api_.energy && api_.energy(d, &energy) == kNvmlSuccess) s.energy_mj = energy;
    if (api_.clock(d, kClockSm, &v) == kNvmlSuccess) s.sm_clock_mhz = v;
    if (api_.clock(d, kClockMem, &v) == kNvmlSuccess) s.mem_clock_mhz = v;
    // NVML reports KB/s over a short (20 ms) window.
    if (api_.pcie_throughput && api_.pcie_throughput(d, kPcieTxBytes, &v) == kNvmlSuccess) {
      s.pcie_tx_bytes_per_s = uint64_t{v} * 1024;
    }
    if (api_.pcie_throughput && api_.pcie_throughput(d, kPcieRxBytes, &v) == kNvmlSuccess) {
      s.pcie_rx_bytes_per_s = uint64_t{v} * 1024;
    }
    return s;
  }

 private:
  void* lib_;
  NvmlApi api_;
  std::vector<nvmlDevice_t> devices_;
};

}  // namespace

Expected<std::unique_ptr<GpuSource>> open_nvml(const std::string& library) {
  const std::string path = library.empty() ? "libnvidia-ml.so.1" : library;
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return not_found("NVML: cannot load {}: {}", path, dlerror());
  NvmlApi api{};
  const bool ok = resolve(lib, "nvmlInit_v2", api.init) &&
                  resolve(lib, "nvmlShutdown", api.shutdown) &&
                  resolve(lib, "nvmlErrorString", api.error_string) &&
                  resolve(lib, "nvmlDeviceGetCount_v2", api.device_count) &&
                  resolve(lib, "nvmlDeviceGetHandleByIndex_v2", api.handle_by_index) &&
                  resolve(lib, "nvmlDeviceGetName", api.name) &&
                  resolve(lib, "nvmlDeviceGetUtilizationRates", api.utilization) &&
                  resolve(lib, "nvmlDeviceGetMemoryInfo", api.memory) &&
                  resolve(lib, "nvmlDeviceGetTemperature", api.temperature) &&
                  resolve(lib, "nvmlDeviceGetPowerUsage", api.power) &&
                  resolve(lib, "nvmlDeviceGetClockInfo", api.clock);
  if (!ok) {
    dlclose(lib);
    return not_found("NVML: {} lacks a function this monitor needs", path);
  }
  // Optional: older drivers lack them.
  resolve(lib, "nvmlDeviceGetTotalEnergyConsumption", api.energy);
  resolve(lib, "nvmlDeviceGetPcieThroughput", api.pcie_throughput);
  if (nvmlReturn_t rc = api.init(); rc != kNvmlSuccess) {
    const std::string why = api.error_string(rc);
    dlclose(lib);
    return make_error(ErrorCode::kUnavailable, "NVML: nvmlInit failed: {}", why);
  }
  unsigned int n = 0;
  std::vector<nvmlDevice_t> devices;
  if (api.device_count(&n) == kNvmlSuccess) {
    for (unsigned int i = 0; i < n; ++i) {
      nvmlDevice_t d = nullptr;
      if (api.handle_by_index(i, &d) == kNvmlSuccess) devices.push_back(d);
    }
  }
  if (devices.empty()) {
    api.shutdown();
    dlclose(lib);
    return not_found("NVML: no GPUs");
  }
  return std::unique_ptr<GpuSource>(new NvmlSource(lib, api, std::move(devices)));
}

}  // namespace kvtier::monitor
