#include "monitor/proc_reader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace kvtier::monitor {
namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::vector<uint64_t> numbers_after(std::string_view line, size_t from) {
  std::vector<uint64_t> out;
  std::istringstream in{std::string(line.substr(from))};
  uint64_t v = 0;
  while (in >> v) out.push_back(v);
  return out;
}

void read_stat(const std::string& text, long hz, SystemSample& s) {
  uint32_t ncpu = 0;
  for (std::string_view line : split_lines(text)) {
    if (line.starts_with("cpu ")) {
      // user nice system idle iowait irq softirq steal guest guest_nice (jiffies)
      const auto v = numbers_after(line, 4);
      if (v.size() < 4) continue;
      auto ms = [&](size_t i) { return i < v.size() ? v[i] * 1000 / uint64_t(hz) : 0; };
      s.cpu = CpuTimes{ms(0), ms(1), ms(2), ms(3), ms(4), ms(5), ms(6), ms(7)};
    } else if (line.starts_with("cpu") && line.size() > 3 && line[3] >= '0' && line[3] <= '9') {
      ++ncpu;
    }
  }
  if (ncpu > 0) s.ncpu = ncpu;
}

void read_loadavg(const std::string& text, SystemSample& s) {
  std::istringstream in(text);
  std::array<float, 3> load{};
  if (in >> load[0] >> load[1] >> load[2]) s.load = load;
}

void read_meminfo(const std::string& text, SystemSample& s) {
  std::optional<uint64_t> total, free, available, cached, buffers;
  for (std::string_view line : split_lines(text)) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const auto v = numbers_after(line, colon + 1);
    if (v.empty()) continue;
    if (key == "MemTotal") total = v[0];
    else if (key == "MemFree") free = v[0];
    else if (key == "MemAvailable") available = v[0];
    else if (key == "Cached") cached = v[0];
    else if (key == "Buffers") buffers = v[0];
  }
  if (!total || !free) return;
  MemoryKb m;
  m.physmem = *total;
  m.free = *free;
  m.used = *total >= *free ? *total - *free : 0;  // the PMDA's "physmem - freemem"
  m.available = available.value_or(0);
  m.cached = cached.value_or(0);
  m.bufmem = buffers.value_or(0);
  s.memory = m;
}

void read_net_dev(const std::string& text, SystemSample& s) {
  for (std::string_view line : split_lines(text)) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // the two header lines
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    // rx: bytes packets errs drop fifo frame compressed multicast, then tx: bytes ...
    const auto v = numbers_after(line, colon + 1);
    if (name.empty() || v.size() < 9) continue;
    s.interfaces.push_back({std::string(name), v[0], v[8]});
  }
}

void read_diskstats(const std::string& text, SystemSample& s) {
  struct Row {
    std::string name;
    uint64_t read_sectors, write_sectors;
  };
  std::vector<Row> rows;
  for (std::string_view line : split_lines(text)) {
    std::istringstream in{std::string(line)};
    uint64_t major = 0, minor = 0;
    std::string name;
    // reads merged sectors ms writes merged sectors ...
    uint64_t f[7] = {};
    if (!(in >> major >> minor >> name)) continue;
    if (!(in >> f[0] >> f[1] >> f[2] >> f[3] >> f[4] >> f[5] >> f[6])) continue;
    rows.push_back({name, f[2], f[6]});
  }
  if (rows.empty()) return;
  std::vector<std::string> names;
  for (const auto& r : rows) names.push_back(r.name);
  uint64_t read = 0, write = 0;
  for (const auto& r : rows) {
    if (!counts_as_disk(r.name, names)) continue;
    read += r.read_sectors / 2;  // 512-byte sectors -> KB
    write += r.write_sectors / 2;
  }
  s.disk_kb = std::make_pair(read, write);
}

}  // namespace

bool counts_as_disk(const std::string& name, const std::vector<std::string>& all_devices) {
  for (std::string_view prefix : {"loop", "ram", "zram", "dm-", "md"}) {
    if (name.starts_with(prefix)) return false;
  }
  for (const auto& other : all_devices) {
    if (other.size() >= name.size() || !name.starts_with(other)) continue;
    std::string_view rest = std::string_view(name).substr(other.size());
    if (rest.front() == 'p' && rest.size() > 1) rest.remove_prefix(1);
    if (std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;  // a partition of `other`
    }
  }
  return true;
}

SystemSample read_system_sample(const std::string& root, long ticks_per_second) {
  SystemSample s;
  const std::string proc = (root.empty() || root == "/" ? std::string() : root) + "/proc/";
  const long hz = ticks_per_second > 0 ? ticks_per_second : 100;
  std::string text;
  if (read_file(proc + "stat", text)) read_stat(text, hz, s);
  if (read_file(proc + "loadavg", text)) read_loadavg(text, s);
  if (read_file(proc + "meminfo", text)) read_meminfo(text, s);
  if (read_file(proc + "net/dev", text)) read_net_dev(text, s);
  if (read_file(proc + "diskstats", text)) read_diskstats(text, s);
  return s;
}

}  // namespace kvtier::monitor
