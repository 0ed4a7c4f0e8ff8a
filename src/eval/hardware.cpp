#include "eval/hardware.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "eval/child_process.h"

namespace kvtier::eval {
namespace {

std::string trim(std::string s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  const size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "Key : value" from a /proc file.
std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  }
  return "";
}

nlohmann::json gpus() {
  nlohmann::json list = nlohmann::json::array();
  for (const char* smi : {"/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi"}) {
    if (::access(smi, X_OK) != 0) continue;
    auto run = run_capture({smi, "--query-gpu=name,driver_version,memory.total",
                            "--format=csv,noheader,nounits"},
                           std::chrono::seconds(20));
    if (!run || run->exit_code != 0) break;
    std::stringstream in(run->output);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> fields;
      std::stringstream parts(line);
      std::string f;
      while (std::getline(parts, f, ',')) fields.push_back(trim(f));
      if (fields.size() < 3) continue;
      list.push_back({{"name", fields[0]},
                      {"driver", fields[1]},
                      {"memory_total_mib", std::atoll(fields[2].c_str())}});
    }
    break;
  }
  return list;
}

}  // namespace

nlohmann::json probe_hardware() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  const std::string mem_kb = proc_field("/proc/meminfo", "MemTotal");
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return {{"gpus", gpus()},
          {"cpu_model", proc_field("/proc/cpuinfo", "model name")},
          {"cpu_count", cpus > 0 ? cpus : long(std::thread::hardware_concurrency())},
          {"memory_total_bytes", int64_t(std::atoll(mem_kb.c_str())) * 1024},
          {"hostname", std::string(host)}};
}

}  // namespace kvtier::eval
