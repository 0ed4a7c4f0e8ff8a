// A monitor killed with SIGKILL: every record it wrote is readable, and the next monitor on the
// same archive says how to recover it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "fake_gpu.h"
#include "fake_proc.h"
#include "monitor/archive_writer.h"
#include "monitor/monitor.h"
#include "pcp_tools.h"

namespace kvtier::monitor {
namespace {

using namespace testing;

TEST(MonitorSigkillTest, RecordsWrittenBeforeSigkillAreReadable) {
  TempDir dir;
  write_fake_proc(dir / "root", {});
  const std::string archive = dir / "killed";
  int progress[2];
  ASSERT_EQ(pipe(progress), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(progress[0]);
    MonitorOptions o;
    o.archive = archive;
    o.interval_s = 0.05;
    o.proc_root = dir / "root";
    o.open_gpu = [] {
      return Expected<std::unique_ptr<GpuSource>>(std::make_unique<FakeGpuSource>(
          std::vector<GpuSample>{fake_gpu(50, 1 << 30, 10, 20)}));
    };
    o.log = [](const std::string&) {};
    o.on_record = [&](int records) {
      const char byte = static_cast<char>(std::min(records, 100));
      (void)!write(progress[1], &byte, 1);
    };
    std::atomic<int> never{0};
    (void)run_monitor(o, never);
    _exit(0);
  }
  close(progress[1]);
  // Kill it once it has written 5 records (whatever the machine's load, no timing assumed).
  int records = 0;
  char byte = 0;
  while (records < 5 && read(progress[0], &byte, 1) == 1) records = byte;
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(progress[0]);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_GE(records, 5);

  // Readable as is: at least the 5 records reported, values intact.
  ToolResult info = run_tool("pminfo", "-a " + archive + " -f kernel.all.cpu.user nvidia.gpuactive");
  ASSERT_EQ(info.status, 0) << info.out;
  EXPECT_NE(info.out.find("kernel.all.cpu.user\n    value 10000"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("inst [0 or \"gpu0\"] value 50"), std::string::npos) << info.out;
  const auto rows = pmrep_csv(archive, "kernel.all.cpu.user", "-r -u");
  EXPECT_GE(rows.size(), 5u);

  // The next monitor on that archive refuses it and says how to recover it.
  MonitorOptions again;
  again.archive = archive;
  again.proc_root = dir / "root";
  again.gpu = false;
  again.log = [](const std::string&) {};
  std::atomic<int> stop{0};
  auto refused = run_monitor(again, stop);
  ASSERT_FALSE(refused);
  const std::string& why = refused.error().message();
  EXPECT_NE(why.find("was not finished"), std::string::npos) << why;
  EXPECT_NE(why.find("pmlogcheck " + archive), std::string::npos) << why;
  EXPECT_NE(why.find("pmlogextract " + archive + " " + archive + "-recovered"), std::string::npos)
      << why;

  // The recipe works: pmlogextract makes a finished archive that pmlogcheck passes.
  ToolResult extract = run_tool("pmlogextract", archive + " " + archive + "-recovered");
  ASSERT_EQ(extract.status, 0) << extract.out;
  ToolResult check = run_tool("pmlogcheck", archive + "-recovered");
  EXPECT_EQ(check.status, 0) << check.out;
  EXPECT_GE(pmrep_csv(archive + "-recovered", "kernel.all.cpu.user", "-r -u").size(), 5u);
}

TEST(MonitorSigkillTest, TornLastRecordIsDroppedByTheRecoveryRecipe) {
  TempDir dir;
  write_fake_proc(dir / "root", {});
  const std::string archive = dir / "torn";
  {
    MonitorOptions o;
    o.archive = archive;
    o.interval_s = 0.02;
    o.duration_s = 0.1;
    o.proc_root = dir / "root";
    o.gpu = false;
    o.log = [](const std::string&) {};
    std::atomic<int> stop{0};
    ASSERT_TRUE(run_monitor(o, stop));
  }
  // As if killed inside a write: the last record cut short, the writer's marker still there.
  const auto size = std::filesystem::file_size(archive + ".0");
  std::filesystem::resize_file(archive + ".0", size - 30);
  std::ofstream(archive_marker_path(archive)) << "999999999\n";
  ToolResult check = run_tool("pmlogcheck", archive);
  EXPECT_NE(check.status, 0) << check.out;
  Status absent = check_archive_absent(archive);
  ASSERT_FALSE(absent);
  EXPECT_NE(absent.message().find("was not finished"), std::string::npos) << absent.message();
  ToolResult extract = run_tool("pmlogextract", archive + " " + archive + "-recovered");
  EXPECT_NE(extract.out.find("will not be extracted"), std::string::npos) << extract.out;
  ToolResult fixed = run_tool("pmlogcheck", archive + "-recovered");
  EXPECT_EQ(fixed.status, 0) << fixed.out;
  ToolResult info = run_tool("pminfo", "-a " + archive + "-recovered -f mem.physmem");
  EXPECT_NE(info.out.find("value 16000000"), std::string::npos) << info.out;
}

}  // namespace
}  // namespace kvtier::monitor
