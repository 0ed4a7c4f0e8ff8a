#include "monitor/system_metrics.h"

namespace kvtier::monitor {
namespace {

constexpr int kLinux = 60;     // the linux PMDA's domain
constexpr int kLoadInDom = 2;  // kernel.all.load
constexpr int kNetInDom = 3;   // network.interface

MetricDesc linux_metric(const char* name, int cluster, int item, ValueType type, int indom,
                        Semantics sem, Units units) {
  return {name, kLinux, cluster, item, type, indom, sem, units};
}

const MetricDesc kCpu[] = {
    linux_metric("kernel.all.cpu.user", 0, 20, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.nice", 0, 21, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.sys", 0, 22, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.idle", 0, 23, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.wait.total", 0, 35, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.irq.hard", 0, 54, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.irq.soft", 0, 53, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
    linux_metric("kernel.all.cpu.steal", 0, 55, ValueType::kU64, kNoInDom, Semantics::kCounter, kMillisec),
};
const MetricDesc kNcpu =
    linux_metric("hinv.ncpu", 0, 32, ValueType::kU32, kNoInDom, Semantics::kDiscrete, kNoUnits);
const MetricDesc kLoad =
    linux_metric("kernel.all.load", 2, 0, ValueType::kFloat, kLoadInDom, Semantics::kInstant, kNoUnits);
const MetricDesc kMemory[] = {
    linux_metric("mem.physmem", 1, 0, ValueType::kU64, kNoInDom, Semantics::kDiscrete, kKBytes),
    linux_metric("mem.util.used", 1, 1, ValueType::kU64, kNoInDom, Semantics::kInstant, kKBytes),
    linux_metric("mem.util.free", 1, 2, ValueType::kU64, kNoInDom, Semantics::kInstant, kKBytes),
    linux_metric("mem.util.available", 1, 58, ValueType::kU64, kNoInDom, Semantics::kInstant, kKBytes),
    linux_metric("mem.util.cached", 1, 5, ValueType::kU64, kNoInDom, Semantics::kInstant, kKBytes),
    linux_metric("mem.util.bufmem", 1, 4, ValueType::kU64, kNoInDom, Semantics::kInstant, kKBytes),
};
const MetricDesc kNetIn = linux_metric("network.interface.in.bytes", 3, 0, ValueType::kU64,
                                       kNetInDom, Semantics::kCounter, kBytes);
const MetricDesc kNetOut = linux_metric("network.interface.out.bytes", 3, 8, ValueType::kU64,
                                        kNetInDom, Semantics::kCounter, kBytes);
const MetricDesc kDiskRead = linux_metric("disk.all.read_bytes", 0, 41, ValueType::kU64,
                                          kNoInDom, Semantics::kCounter, kKBytes);
const MetricDesc kDiskWrite = linux_metric("disk.all.write_bytes", 0, 42, ValueType::kU64,
                                           kNoInDom, Semantics::kCounter, kKBytes);

// The PMDA's instance names and ids for the load averages.
constexpr std::pair<int, const char*> kLoadInstances[] = {
    {1, "1 minute"}, {5, "5 minute"}, {15, "15 minute"}};

}  // namespace

Status SystemMetrics::declare(ArchiveWriter& w) {
  for (const auto& d : kCpu) KVTIER_RETURN_IF_ERROR(w.add_metric(d));
  for (const auto& d : kMemory) KVTIER_RETURN_IF_ERROR(w.add_metric(d));
  for (const MetricDesc* d : {&kNcpu, &kLoad, &kNetIn, &kNetOut, &kDiskRead, &kDiskWrite}) {
    KVTIER_RETURN_IF_ERROR(w.add_metric(*d));
  }
  for (const auto& [id, name] : kLoadInstances) {
    KVTIER_RETURN_IF_ERROR(w.add_instance(kLoad, id, name));
  }
  return Status::ok();
}

Status SystemMetrics::put(ArchiveWriter& w, const SystemSample& s) {
  if (s.cpu) {
    const CpuTimes& c = *s.cpu;
    const uint64_t values[] = {c.user, c.nice, c.sys, c.idle, c.wait, c.irq_hard, c.irq_soft,
                               c.steal};
    for (size_t i = 0; i < std::size(kCpu); ++i) {
      KVTIER_RETURN_IF_ERROR(w.put(kCpu[i].name, "", values[i]));
    }
  }
  if (s.ncpu) KVTIER_RETURN_IF_ERROR(w.put(kNcpu.name, "", uint64_t{*s.ncpu}));
  if (s.load) {
    for (size_t i = 0; i < 3; ++i) {
      KVTIER_RETURN_IF_ERROR(w.put(kLoad.name, kLoadInstances[i].second, double{(*s.load)[i]}));
    }
  }
  if (s.memory) {
    const MemoryKb& m = *s.memory;
    const uint64_t values[] = {m.physmem, m.used, m.free, m.available, m.cached, m.bufmem};
    for (size_t i = 0; i < std::size(kMemory); ++i) {
      KVTIER_RETURN_IF_ERROR(w.put(kMemory[i].name, "", values[i]));
    }
  }
  for (const auto& iface : s.interfaces) {
    auto [it, added] = interface_ids_.try_emplace(iface.name, int(interface_ids_.size()));
    if (added) KVTIER_RETURN_IF_ERROR(w.add_instance(kNetIn, it->second, iface.name));
    KVTIER_RETURN_IF_ERROR(w.put(kNetIn.name, iface.name, iface.in));
    KVTIER_RETURN_IF_ERROR(w.put(kNetOut.name, iface.name, iface.out));
  }
  if (s.disk_kb) {
    KVTIER_RETURN_IF_ERROR(w.put(kDiskRead.name, "", s.disk_kb->first));
    KVTIER_RETURN_IF_ERROR(w.put(kDiskWrite.name, "", s.disk_kb->second));
  }
  return Status::ok();
}

}  // namespace kvtier::monitor
