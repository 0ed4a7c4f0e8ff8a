#include "monitor/gpu_metrics.h"

#include <fmt/format.h>

namespace kvtier::monitor {
namespace {

constexpr int kNvml = 120;     // the nvidia PMDA's domain
constexpr int kCardInDom = 0;  // its per-card instance domain
constexpr int kExtraCluster = 9;  // kvtier's additions, clear of the PMDA's clusters 0-4

MetricDesc card(const char* name, int cluster, int item, ValueType type, Semantics sem,
                Units units) {
  return {name, kNvml, cluster, item, type, kCardInDom, sem, units};
}

const MetricDesc kNumCards = {"nvidia.numcards", kNvml, 0, 0, ValueType::kU32, kNoInDom,
                              Semantics::kInstant, kNoUnits};
const MetricDesc kGpuId = card("nvidia.gpuid", 0, 1, ValueType::kU32, Semantics::kDiscrete, kNoUnits);
const MetricDesc kCardName = card("nvidia.cardname", 0, 2, ValueType::kString, Semantics::kDiscrete, kNoUnits);
const MetricDesc kTemperature = card("nvidia.temperature", 0, 4, ValueType::kU32, Semantics::kInstant, kNoUnits);
const MetricDesc kGpuActive = card("nvidia.gpuactive", 0, 7, ValueType::kU32, Semantics::kInstant, kNoUnits);
const MetricDesc kMemActive = card("nvidia.memactive", 0, 8, ValueType::kU32, Semantics::kInstant, kNoUnits);
const MetricDesc kMemUsed = card("nvidia.memused", 0, 9, ValueType::kU64, Semantics::kInstant, kBytes);
const MetricDesc kMemTotal = card("nvidia.memtotal", 0, 10, ValueType::kU64, Semantics::kDiscrete, kBytes);
const MetricDesc kMemFree = card("nvidia.memfree", 0, 11, ValueType::kU64, Semantics::kInstant, kBytes);
const MetricDesc kEnergy = card("nvidia.energy", 0, 20, ValueType::kU64, Semantics::kInstant, kNoUnits);
const MetricDesc kPower = card("nvidia.power", 0, 21, ValueType::kU32, Semantics::kInstant, kNoUnits);
const MetricDesc kGpuClock = card("nvidia.gpuclock", kExtraCluster, 0, ValueType::kU32, Semantics::kInstant, kNoUnits);
const MetricDesc kMemClock = card("nvidia.memclock", kExtraCluster, 1, ValueType::kU32, Semantics::kInstant, kNoUnits);
const MetricDesc kPcieTx = card("nvidia.pcie.tx_bytes", kExtraCluster, 2, ValueType::kU64, Semantics::kInstant, kBytesPerSec);
const MetricDesc kPcieRx = card("nvidia.pcie.rx_bytes", kExtraCluster, 3, ValueType::kU64, Semantics::kInstant, kBytesPerSec);

const MetricDesc* const kPerCard[] = {&kGpuId,    &kCardName, &kTemperature, &kGpuActive,
                                      &kMemActive, &kMemUsed, &kMemTotal,    &kMemFree,
                                      &kEnergy,   &kPower,    &kGpuClock,    &kMemClock,
                                      &kPcieTx,   &kPcieRx};

std::string instance_name(int index) { return fmt::format("gpu{}", index); }

}  // namespace

Status GpuMetrics::declare(ArchiveWriter& w, const GpuSource& source) {
  KVTIER_RETURN_IF_ERROR(w.add_metric(kNumCards));
  for (const MetricDesc* d : kPerCard) KVTIER_RETURN_IF_ERROR(w.add_metric(*d));
  for (int i = 0; i < source.count(); ++i) {
    KVTIER_RETURN_IF_ERROR(w.add_instance(kGpuId, i, instance_name(i)));
  }
  return Status::ok();
}

Status GpuMetrics::put(ArchiveWriter& w, GpuSource& source, std::string& warning) {
  warning.clear();
  KVTIER_RETURN_IF_ERROR(w.put(kNumCards.name, "", uint64_t(source.count())));
  for (int i = 0; i < source.count(); ++i) {
    auto s = source.sample(i);
    if (!s) {
      warning += (warning.empty() ? "" : "; ") + s.error().message();
      continue;
    }
    const std::string inst = instance_name(i);
    auto put = [&](const MetricDesc& d, const auto& value) -> Status {
      if (!value) return Status::ok();
      return w.put(d.name, inst, uint64_t(*value));
    };
    KVTIER_RETURN_IF_ERROR(w.put(kGpuId.name, inst, uint64_t(i)));
    if (!s->name.empty()) KVTIER_RETURN_IF_ERROR(w.put_string(kCardName.name, inst, s->name));
    KVTIER_RETURN_IF_ERROR(put(kTemperature, s->temperature_c));
    KVTIER_RETURN_IF_ERROR(put(kGpuActive, s->gpu_util));
    KVTIER_RETURN_IF_ERROR(put(kMemActive, s->mem_util));
    KVTIER_RETURN_IF_ERROR(put(kMemUsed, s->mem_used));
    KVTIER_RETURN_IF_ERROR(put(kMemTotal, s->mem_total));
    KVTIER_RETURN_IF_ERROR(put(kMemFree, s->mem_free));
    KVTIER_RETURN_IF_ERROR(put(kEnergy, s->energy_mj));
    KVTIER_RETURN_IF_ERROR(put(kPower, s->power_mw));
    KVTIER_RETURN_IF_ERROR(put(kGpuClock, s->sm_clock_mhz));
    KVTIER_RETURN_IF_ERROR(put(kMemClock, s->mem_clock_mhz));
    KVTIER_RETURN_IF_ERROR(put(kPcieTx, s->pcie_tx_bytes_per_s));
    KVTIER_RETURN_IF_ERROR(put(kPcieRx, s->pcie_rx_bytes_per_s));
  }
  return Status::ok();
}

}  // namespace kvtier::monitor
