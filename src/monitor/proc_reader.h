#pragma once
// One reading of the system counters the linux PMDA exports, from /proc (and nothing else),
// under a root that tests replace with a fake tree. Values are in the PMDA's units: CPU times
// in milliseconds (jiffies x 1000 / USER_HZ), memory and disk in KB, network in bytes.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvtier::monitor {

struct CpuTimes {  // kernel.all.cpu.*, ms, summed over CPUs (the /proc/stat "cpu" line)
  uint64_t user = 0, nice = 0, sys = 0, idle = 0, wait = 0, irq_hard = 0, irq_soft = 0,
           steal = 0;
};

struct MemoryKb {  // mem.physmem and mem.util.*
  uint64_t physmem = 0, used = 0, free = 0, available = 0, cached = 0, bufmem = 0;
};

struct InterfaceBytes {  // network.interface.{in,out}.bytes
  std::string name;
  uint64_t in = 0, out = 0;
};

struct SystemSample {
  std::optional<CpuTimes> cpu;
  std::optional<uint32_t> ncpu;                 // hinv.ncpu: the cpuN lines of /proc/stat
  std::optional<std::array<float, 3>> load;     // kernel.all.load: 1, 5, 15 minute
  std::optional<MemoryKb> memory;
  std::vector<InterfaceBytes> interfaces;
  std::optional<std::pair<uint64_t, uint64_t>> disk_kb;  // disk.all.{read,write}_bytes
};

// Reads ROOT/proc/{stat,loadavg,meminfo,net/dev,diskstats}; a file that is missing or that does
// not parse leaves its part empty. `ticks_per_second` is USER_HZ (sysconf(_SC_CLK_TCK)).
SystemSample read_system_sample(const std::string& root, long ticks_per_second);

// Disks as the linux PMDA sums them into disk.all: whole devices only, without partitions
// (sda1 beside sda, nvme0n1p1 beside nvme0n1), loop, ram, zram, device-mapper and md devices.
bool counts_as_disk(const std::string& name, const std::vector<std::string>& all_devices);

}  // namespace kvtier::monitor
