#include <gtest/gtest.h>
#include <unistd.h>

#include "fake_proc.h"
#include "monitor/proc_reader.h"
#include "pcp_tools.h"

namespace kvtier::monitor {
namespace {

using namespace testing;

TEST(ProcReaderTest, ReadsTheFakeTreeInThePmdaUnits) {
  TempDir dir;
  FakeProcValues v;
  write_fake_proc(dir.path(), v);
  const SystemSample s = read_system_sample(dir.path(), 100);
  ASSERT_TRUE(s.cpu);
  EXPECT_EQ(s.cpu->user, 10000u);  // 1000 jiffies at 100 Hz
  EXPECT_EQ(s.cpu->nice, 100u);
  EXPECT_EQ(s.cpu->sys, 5000u);
  EXPECT_EQ(s.cpu->idle, 80000u);
  EXPECT_EQ(s.cpu->wait, 400u);
  EXPECT_EQ(s.cpu->irq_hard, 50u);
  EXPECT_EQ(s.cpu->irq_soft, 70u);
  EXPECT_EQ(s.cpu->steal, 30u);
  ASSERT_TRUE(s.ncpu);
  EXPECT_EQ(*s.ncpu, 4u);
  ASSERT_TRUE(s.load);
  EXPECT_FLOAT_EQ((*s.load)[0], 0.5f);
  EXPECT_FLOAT_EQ((*s.load)[2], 2.75f);
  ASSERT_TRUE(s.memory);
  EXPECT_EQ(s.memory->physmem, 16000000u);
  EXPECT_EQ(s.memory->used, 10000000u);  // MemTotal - MemFree
  EXPECT_EQ(s.memory->free, 6000000u);
  EXPECT_EQ(s.memory->available, 9000000u);
  EXPECT_EQ(s.memory->cached, 2500000u);
  EXPECT_EQ(s.memory->bufmem, 300000u);
  ASSERT_EQ(s.interfaces.size(), 2u);
  EXPECT_EQ(s.interfaces[1].name, "eth0");
  EXPECT_EQ(s.interfaces[1].in, v.eth_in);
  EXPECT_EQ(s.interfaces[1].out, v.eth_out);
  ASSERT_TRUE(s.disk_kb);
  EXPECT_EQ(s.disk_kb->first, 1000u);  // sda only: loop0 and the partition sda1 do not count
  EXPECT_EQ(s.disk_kb->second, 2000u);
}

TEST(ProcReaderTest, MissingFilesLeaveTheirPartEmpty) {
  TempDir dir;
  const SystemSample s = read_system_sample(dir.path(), 100);
  EXPECT_FALSE(s.cpu);
  EXPECT_FALSE(s.memory);
  EXPECT_FALSE(s.disk_kb);
  EXPECT_TRUE(s.interfaces.empty());
}

TEST(ProcReaderTest, DisksAreWholeDevicesOnly) {
  const std::vector<std::string> all = {"sda", "sda1", "sdaa", "nvme0n1", "nvme0n1p2",
                                        "mmcblk0", "mmcblk0p1", "loop3", "zram0", "dm-0", "md127"};
  std::vector<std::string> disks;
  for (const auto& d : all) {
    if (counts_as_disk(d, all)) disks.push_back(d);
  }
  EXPECT_EQ(disks, (std::vector<std::string>{"sda", "sdaa", "nvme0n1", "mmcblk0"}));
}

// The linux PMDA itself (as a DSO in a local context) agrees on this machine's static values.
TEST(ProcReaderTest, AgreesWithTheLinuxPmdaOnThisMachine) {
  const std::string pmns = "/var/lib/pcp/pmns/root_linux";
  if (!std::filesystem::exists(pmns)) GTEST_SKIP() << pmns << " not installed";
  ToolResult r = run_tool("pminfo", "-L -n " + pmns + " -f hinv.ncpu mem.physmem");
  if (r.status != 0) GTEST_SKIP() << "no local linux PMDA: " << r.out;
  const SystemSample s = read_system_sample("/", sysconf(_SC_CLK_TCK));
  ASSERT_TRUE(s.ncpu && s.memory);
  EXPECT_NE(r.out.find("hinv.ncpu\n    value " + std::to_string(*s.ncpu)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mem.physmem\n    value " + std::to_string(s.memory->physmem)),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace kvtier::monitor
