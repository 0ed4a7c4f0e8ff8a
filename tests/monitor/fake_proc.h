#pragma once
// A /proc tree with values the tests choose, for --proc-root.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace kvtier::monitor::testing {

struct FakeProcValues {
  // /proc/stat "cpu" line, jiffies (USER_HZ 100 here: 1 jiffy = 10 ms)
  uint64_t user = 1000, nice = 10, sys = 500, idle = 8000, iowait = 40, irq = 5, softirq = 7,
           steal = 3;
  int ncpu = 4;
  uint64_t mem_total_kb = 16000000, mem_free_kb = 6000000, mem_available_kb = 9000000,
           cached_kb = 2500000, buffers_kb = 300000;
  uint64_t eth_in = 123456789, eth_out = 98765432;
  uint64_t sda_read_sectors = 2000, sda_write_sectors = 4000;
};

inline void write_fake_proc(const std::string& root, const FakeProcValues& v) {
  namespace fs = std::filesystem;
  fs::create_directories(root + "/proc/net");
  auto put = [&](const std::string& rel, const std::string& text) {
    std::ofstream(root + "/proc/" + rel + ".tmp") << text;
    fs::rename(root + "/proc/" + rel + ".tmp", root + "/proc/" + rel);  // readers see whole files
  };
  std::string stat = fmt::format("cpu  {} {} {} {} {} {} {} {} 0 0\n", v.user, v.nice, v.sys,
                                 v.idle, v.iowait, v.irq, v.softirq, v.steal);
  for (int i = 0; i < v.ncpu; ++i) stat += fmt::format("cpu{} 1 0 1 1 0 0 0 0 0 0\n", i);
  stat += "intr 12345\nctxt 6789\nbtime 1700000000\n";
  put("stat", stat);
  put("loadavg", "0.50 1.25 2.75 3/400 12345\n");
  put("meminfo", fmt::format("MemTotal:       {} kB\nMemFree:        {} kB\nMemAvailable:   {} kB\n"
                             "Buffers:        {} kB\nCached:         {} kB\nSwapCached:  0 kB\n",
                             v.mem_total_kb, v.mem_free_kb, v.mem_available_kb, v.buffers_kb,
                             v.cached_kb));
  put("net/dev",
      fmt::format("Inter-|   Receive                                                |  Transmit\n"
                  " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
                  "packets errs drop fifo colls carrier compressed\n"
                  "    lo:    1000      10    0    0    0     0          0         0     1000      "
                  "10    0    0    0     0       0          0\n"
                  "  eth0: {}  1000    0    0    0     0          0         0 {}  900    0    0    "
                  "0     0       0          0\n",
                  v.eth_in, v.eth_out));
  put("diskstats",
      fmt::format("   7       0 loop0 5 0 999 0 0 0 999 0 0 0 0 0 0 0 0 0 0\n"
                  "   8       0 sda 100 0 {} 10 200 0 {} 20 0 30 30 0 0 0 0 0 0\n"
                  "   8       1 sda1 50 0 {} 5 100 0 {} 10 0 15 15 0 0 0 0 0 0\n",
                  v.sda_read_sectors, v.sda_write_sectors, v.sda_read_sectors,
                  v.sda_write_sectors));
}

}  // namespace kvtier::monitor::testing
