// summarize_archive over an archive written with known values at known times.
#include <gtest/gtest.h>

#include <cstdlib>

#include "fake_gpu.h"
#include "monitor/archive_summary.h"
#include "monitor/archive_writer.h"
#include "monitor/gpu_metrics.h"
#include "monitor/system_metrics.h"
#include "pcp_tools.h"

namespace kvtier::monitor {
namespace {

using namespace testing;

constexpr double kT0 = 1765000000.0;

// 11 records, one a second. Per second: 2 cores = 2000 ms of CPU time, of which user 600,
// sys 200, irq.soft 100 (busy 900 = 45%) and idle 900, wait 200 before t = kT0 + 5; after it
// the machine is idle. Memory used is i GiB at record i. gpu0 util = 10 + 5 i, gpu1 util 50.
std::string write_known_archive(const TempDir& dir) {
  const std::string path = dir / "known";
  auto w = ArchiveWriter::create(path);
  EXPECT_TRUE(w) << w.error().message();
  SystemMetrics system;
  GpuMetrics gpu;
  FakeGpuSource gpus({fake_gpu(10, 1ull << 30, 1000, 3000), fake_gpu(50, 3ull << 30, 2000, 5000)});
  gpus.step_util = 5;
  EXPECT_TRUE(system.declare(**w));
  EXPECT_TRUE(gpu.declare(**w, gpus));
  CpuTimes cpu;
  for (int i = 0; i <= 10; ++i) {
    SystemSample s;
    s.cpu = cpu;
    s.ncpu = 2;
    MemoryKb m;
    m.physmem = 64ull << 20;
    m.used = uint64_t(i) << 20;  // KB: i GiB
    s.memory = m;
    EXPECT_TRUE(system.put(**w, s));
    std::string warning;
    EXPECT_TRUE(gpu.put(**w, gpus, warning));
    EXPECT_TRUE((*w)->write(kT0 + i));
    if (i < 5) {
      cpu.user += 600, cpu.sys += 200, cpu.irq_soft += 100, cpu.idle += 900, cpu.wait += 200;
    } else {
      cpu.idle += 2000;
    }
  }
  EXPECT_TRUE((*w)->finish());
  return path;
}

TEST(ArchiveSummaryTest, AveragesOverTheWindowWithCountersAsRates) {
  TempDir dir;
  const std::string archive = write_known_archive(dir);
  auto busy = summarize_archive(archive, kT0, kT0 + 5);
  ASSERT_TRUE(busy) << busy.error().message();
  EXPECT_EQ(busy->samples, 6);
  EXPECT_NEAR(busy->cpu_busy_percent.value_or(-1), 45.0, 1e-9);
  EXPECT_NEAR(busy->mem_used_bytes.value_or(-1), 2.5 * (1ull << 30), 1);  // mean of 0..5 GiB
  EXPECT_TRUE(busy->has_gpu);
  // gpu0: 10, 15, ..., 35 (mean 22.5); gpu1: 50.
  EXPECT_NEAR(busy->gpu_util_percent.value_or(-1), (22.5 + 50) / 2, 1e-9);
  EXPECT_NEAR(busy->gpu_mem_used_bytes.value_or(-1), double(4ull << 30), 1);
  EXPECT_NEAR(busy->pcie_tx_bytes_per_s.value_or(-1), 3000, 1e-9);
  EXPECT_NEAR(busy->pcie_rx_bytes_per_s.value_or(-1), 8000, 1e-9);

  auto idle = summarize_archive(archive, kT0 + 5, kT0 + 10);
  ASSERT_TRUE(idle) << idle.error().message();
  EXPECT_EQ(idle->samples, 6);
  EXPECT_NEAR(idle->cpu_busy_percent.value_or(-1), 0.0, 1e-9);

  auto all = summarize_archive(archive, kT0 - 100, kT0 + 100);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->samples, 11);
  EXPECT_NEAR(all->cpu_busy_percent.value_or(-1), 22.5, 1e-9);

  auto range = archive_time_range(archive);
  ASSERT_TRUE(range);
  EXPECT_DOUBLE_EQ(range->first, kT0);
  EXPECT_DOUBLE_EQ(range->second, kT0 + 10);
}

TEST(ArchiveSummaryTest, EmptyWindowsAndMissingArchivesAreErrors) {
  TempDir dir;
  const std::string archive = write_known_archive(dir);
  auto before = summarize_archive(archive, kT0 - 100, kT0 - 50);
  ASSERT_FALSE(before);
  EXPECT_NE(before.error().message().find("no system samples"), std::string::npos);
  auto missing = summarize_archive(dir / "nothing", kT0, kT0 + 1);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find(dir / "nothing"), std::string::npos);
  EXPECT_FALSE(summarize_archive(archive, kT0 + 2, kT0 + 1));
}

// An archive without GPU metrics, or a window with one CPU sample, leaves those readings empty:
// "not recorded" must not read as 0% or 0 GB/s.
TEST(ArchiveSummaryTest, ReadingsTheArchiveLacksAreEmptyNotZero) {
  TempDir dir;
  const std::string path = dir / "system-only";
  {
    auto w = ArchiveWriter::create(path);
    ASSERT_TRUE(w) << w.error().message();
    SystemMetrics system;
    ASSERT_TRUE(system.declare(**w));
    CpuTimes cpu;
    for (int i = 0; i < 3; ++i) {
      SystemSample s;
      s.cpu = cpu;
      s.ncpu = 1;
      MemoryKb m;
      m.physmem = 1 << 20;
      m.used = 1 << 10;
      s.memory = m;
      ASSERT_TRUE(system.put(**w, s));
      ASSERT_TRUE((*w)->write(kT0 + i));
      cpu.user += 500, cpu.idle += 500;
    }
    ASSERT_TRUE((*w)->finish());
  }
  auto all = summarize_archive(path, kT0, kT0 + 2);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_NEAR(all->cpu_busy_percent.value_or(-1), 50.0, 1e-9);
  EXPECT_FALSE(all->has_gpu);
  EXPECT_FALSE(all->gpu_util_percent);
  EXPECT_FALSE(all->gpu_mem_used_bytes);
  EXPECT_FALSE(all->pcie_tx_bytes_per_s);
  EXPECT_FALSE(all->pcie_rx_bytes_per_s);
  auto one = summarize_archive(path, kT0 + 1, kT0 + 1);
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(one->samples, 1);
  EXPECT_FALSE(one->cpu_busy_percent);  // a rate needs two samples
  EXPECT_NEAR(one->mem_used_bytes.value_or(-1), double(1 << 20), 1e-9);
}

// Without pcp.conf libpcp ends the process on its first archive call; the summary says what is
// missing instead (the GPU machines have the libraries from a bundle but not the pcp package).
TEST(ArchiveSummaryTest, MissingPcpConfigurationIsAnErrorNotAnExit) {
  TempDir dir;
  const std::string archive = write_known_archive(dir);
  const char* old = std::getenv("PCP_CONF");
  const std::string saved = old ? old : "";
  setenv("PCP_CONF", (dir / "no-pcp.conf").c_str(), 1);
  auto summary = summarize_archive(archive, kT0, kT0 + 5);
  auto range = archive_time_range(archive);
  if (old) {
    setenv("PCP_CONF", saved.c_str(), 1);
  } else {
    unsetenv("PCP_CONF");
  }
  ASSERT_FALSE(summary);
  EXPECT_NE(summary.error().message().find(dir / "no-pcp.conf"), std::string::npos)
      << summary.error().message();
  EXPECT_NE(summary.error().message().find("PCP_CONF"), std::string::npos);
  ASSERT_FALSE(range);
  EXPECT_TRUE(summarize_archive(archive, kT0, kT0 + 5));  // and works again once it is there
}

TEST(GpuMetricsTest, FakeNvmlReadingsUnderTheNvidiaPmdaNames) {
  TempDir dir;
  const std::string path = dir / "gpu";
  auto w = ArchiveWriter::create(path);
  ASSERT_TRUE(w);
  FakeGpuSource gpus({fake_gpu(10, 1ull << 30, 1000, 3000), fake_gpu(50, 3ull << 30, 2000, 5000)});
  gpus.fail_on_call = 1;
  GpuMetrics gpu;
  ASSERT_TRUE(gpu.declare(**w, gpus));
  std::string warning;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(gpu.put(**w, gpus, warning));
    EXPECT_EQ(warning.empty(), i != 1) << warning;
    ASSERT_TRUE((*w)->write(kT0 + i));
  }
  ASSERT_TRUE((*w)->finish());
  ToolResult r = run_tool("pminfo", "-a " + path + " -f nvidia.numcards nvidia.power "
                          "nvidia.memtotal nvidia.gpuclock nvidia.pcie.rx_bytes nvidia.energy");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* expect :
       {"nvidia.numcards\n    value 2", "nvidia.power\n    inst [0 or \"gpu0\"] value 123456",
        "nvidia.memtotal\n    inst [0 or \"gpu0\"] value 85899345920",
        "nvidia.gpuclock\n    inst [0 or \"gpu0\"] value 1980",
        "nvidia.pcie.rx_bytes\n    inst [0 or \"gpu0\"] value 3000\n    inst [1 or \"gpu1\"] value 5000",
        "nvidia.energy\n    inst [0 or \"gpu0\"] value 987654321"}) {
    EXPECT_NE(r.out.find(expect), std::string::npos) << "missing: " << expect << "\nin:\n" << r.out;
  }
  // The failed reading of gpu0 is a gap in gpu0 only.
  const auto rows = pmrep_csv(path, "nvidia.gpuactive", "-r -u");
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_EQ(rows[1].size(), 3u);
  EXPECT_EQ(rows[1][1], "");
  EXPECT_EQ(rows[1][2], "50");
}

TEST(GpuMetricsTest, MissingNvmlLibraryIsAnErrorNamingIt) {
  auto nvml = open_nvml("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(nvml);
  EXPECT_NE(nvml.error().message().find("/nonexistent/libnvidia-ml.so.1"), std::string::npos);
}

}  // namespace
}  // namespace kvtier::monitor
