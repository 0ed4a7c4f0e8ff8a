// `kvtier monitor` end to end: a fake /proc tree, a scripted /metrics endpoint whose counters
// move by known amounts and a fake GPU, recorded and read back with PCP's own tools.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <mutex>

#include "fake_gpu.h"
#include "fake_proc.h"
#include "metrics_server.h"
#include "monitor/archive_summary.h"
#include "monitor/monitor.h"
#include "pcp_tools.h"

namespace kvtier::monitor {
namespace {

using namespace testing;

// Reply N: the gauge is N, the counters grow by 100 and 2 per scrape; from scrape 2 on a new
// metric and a second engine appear.
std::string vllm_body(int n) {
  std::string body = fmt::format(
      "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
      "# TYPE vllm:num_requests_running gauge\n"
      "vllm:num_requests_running{{engine=\"0\",model_name=\"qwen\"}} {0}\n"
      "{1}"
      "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
      "# TYPE vllm:prompt_tokens_total counter\n"
      "vllm:prompt_tokens_total{{engine=\"0\",model_name=\"qwen\"}} {2}\n"
      "# TYPE vllm:time_to_first_token_seconds histogram\n"
      "vllm:time_to_first_token_seconds_bucket{{engine=\"0\",le=\"0.1\",model_name=\"qwen\"}} {3}\n"
      "vllm:time_to_first_token_seconds_bucket{{engine=\"0\",le=\"+Inf\",model_name=\"qwen\"}} {4}\n"
      "vllm:time_to_first_token_seconds_sum{{engine=\"0\",model_name=\"qwen\"}} {5}\n"
      "vllm:time_to_first_token_seconds_count{{engine=\"0\",model_name=\"qwen\"}} {4}\n"
      "process_start_time_seconds 1.7e9\n",
      n, n >= 2 ? "vllm:num_requests_running{engine=\"1\",model_name=\"qwen\"} 7\n" : "", 100 * n,
      n, 2 * n, 0.25 * n);
  if (n >= 2) {
    body += "# TYPE vllm:num_preemptions counter\nvllm:num_preemptions_total{engine=\"0\"} 3\n";
  }
  return body;
}

FakeProcValues proc_at(int n) {
  FakeProcValues v;
  v.user += 100 * n;  // jiffies: 1000 ms more per scrape
  v.idle += 300 * n;
  v.eth_in += 5000 * n;
  v.sda_read_sectors += 64 * n;  // 32 KB more per scrape
  return v;
}

TEST(MonitorArchiveTest, SystemEngineAndGpuReadBackWithPcpTools) {
  TempDir dir;
  const std::string root = dir / "root";
  write_fake_proc(root, proc_at(0));
  // The proc tree moves when the endpoint is scraped: scrape N happens before /proc is read
  // for record N.
  MetricsServer server([&](int n) {
    write_fake_proc(root, proc_at(n));
    return MetricsReply{vllm_body(n)};
  });
  MonitorOptions o;
  o.archive = dir / "run";
  o.interval_s = 0.5;
  o.duration_s = 2.0;        // records at 0, 0.5, 1, 1.5, 2 s
  o.scrape_timeout_s = 30;   // every scrape must land, however loaded the machine
  o.proc_root = root;
  o.targets.push_back(*ScrapeTarget::parse("engine=" + server.url()));
  o.open_gpu = [] {
    return Expected<std::unique_ptr<GpuSource>>(std::make_unique<FakeGpuSource>(
        std::vector<GpuSample>{fake_gpu(37, 1 << 30, 1000000, 2000000),
                               fake_gpu(80, 3u << 30, 3000000, 4000000)}));
  };
  std::vector<std::string> logs;
  o.log = [&](const std::string& line) { logs.push_back(line); };
  std::atomic<int> stop{0};
  auto stats = run_monitor(o, stop);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->records, 5);
  EXPECT_EQ(stats->failed_scrapes, 0);
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs[0].find("archive " + o.archive), std::string::npos) << logs[0];
  EXPECT_NE(logs[0].find("openmetrics.engine"), std::string::npos) << logs[0];
  EXPECT_NE(logs[0].find("2 GPUs"), std::string::npos) << logs[0];
  EXPECT_FALSE(std::filesystem::exists(o.archive + ".writing"));

  // Descriptors as the PMDAs have them.
  ToolResult desc = run_tool("pminfo", "-a " + o.archive + " -dm kernel.all.cpu.user mem.util.used "
                             "network.interface.in.bytes disk.all.read_bytes kernel.all.load "
                             "nvidia.memused nvidia.pcie.tx_bytes "
                             "openmetrics.engine.vllm.prompt_tokens_total "
                             "openmetrics.engine.vllm.num_requests_running "
                             "openmetrics.engine.vllm.time_to_first_token_seconds_bucket "
                             "openmetrics.engine.vllm.time_to_first_token_seconds_sum");
  ASSERT_EQ(desc.status, 0) << desc.out;
  for (const char* expect :
       {"kernel.all.cpu.user PMID: 60.0.20\n    Data Type: 64-bit unsigned int  InDom: PM_INDOM_NULL 0xffffffff\n    Semantics: counter  Units: millisec",
        "mem.util.used PMID: 60.1.1\n    Data Type: 64-bit unsigned int  InDom: PM_INDOM_NULL 0xffffffff\n    Semantics: instant  Units: Kbyte",
        "network.interface.in.bytes PMID: 60.3.0\n    Data Type: 64-bit unsigned int  InDom: 60.3 0xf000003\n    Semantics: counter  Units: byte",
        "disk.all.read_bytes PMID: 60.0.41\n    Data Type: 64-bit unsigned int  InDom: PM_INDOM_NULL 0xffffffff\n    Semantics: counter  Units: Kbyte",
        "kernel.all.load PMID: 60.2.0\n    Data Type: float  InDom: 60.2 0xf000002\n    Semantics: instant  Units: none",
        "nvidia.memused PMID: 120.0.9\n    Data Type: 64-bit unsigned int  InDom: 120.0 0x1e000000\n    Semantics: instant  Units: byte",
        "nvidia.pcie.tx_bytes PMID: 120.9.2",
        "Semantics: instant  Units: byte / sec",
        "openmetrics.engine.vllm.prompt_tokens_total PMID: 144.1.1\n    Data Type: double",
        "Semantics: counter  Units: none",
        "openmetrics.engine.vllm.num_requests_running PMID: 144.1.0\n    Data Type: double  InDom: 144.4096 0x24001000\n    Semantics: instant  Units: none",
        "openmetrics.engine.vllm.time_to_first_token_seconds_bucket PMID: 144.1.2\n    Data Type: double  InDom: 144.4098 0x24001002\n    Semantics: counter  Units: count",
        "openmetrics.engine.vllm.time_to_first_token_seconds_sum PMID: 144.1.3\n    Data Type: double  InDom: 144.4099 0x24001003\n    Semantics: counter  Units: sec"}) {
    EXPECT_NE(desc.out.find(expect), std::string::npos) << "missing:\n" << expect << "\nin:\n" << desc.out;
  }

  // Values of the last record (pmdumplog prints each value with its instance's name).
  ToolResult dump = run_tool("pmdumplog", "-a " + o.archive);
  ASSERT_EQ(dump.status, 0) << dump.out;
  const std::string last = dump.out.substr(dump.out.rfind(" metrics\n"));
  for (const char* expect :
       {"(hinv.ncpu): value 4", "(mem.physmem): value 16000000",
        "inst [5 or \"5 minute\"] value 1.25", "inst [0 or \"gpu0\"] value 37",
        "inst [1 or \"gpu1\"] value 80", "value \"NVIDIA H100 80GB HBM3\"",
        "inst [0 or \"0 engine:0 model_name:qwen\"] value 4",
        "inst [1 or \"1 engine:1 model_name:qwen\"] value 7",
        "inst [0 or \"0 engine:0 le:0.1 model_name:qwen\"] value 4",
        "inst [1 or \"1 engine:0 le:+Inf model_name:qwen\"] value 8",
        "(openmetrics.engine.vllm.num_preemptions_total): inst [0 or \"0 engine:0\"] value 3",
        "(openmetrics.engine.process_start_time_seconds): value 1700000000"}) {
    EXPECT_NE(last.find(expect), std::string::npos) << "missing: " << expect << "\nin:\n" << last;
  }

  // Every record, raw: the counters moved by the scripted amounts.
  auto raw = [&](const std::string& metric, const std::string& instance = "") {
    return dumped_values(dump.out, metric, instance);
  };
  using Values = std::vector<std::string>;
  EXPECT_EQ(raw("kernel.all.cpu.user"), (Values{"10000", "11000", "12000", "13000", "14000"}));
  EXPECT_EQ(raw("openmetrics.engine.vllm.prompt_tokens_total", "0 engine:0 model_name:qwen"),
            (Values{"0", "100", "200", "300", "400"}));
  EXPECT_EQ(raw("disk.all.read_bytes"), (Values{"1000", "1032", "1064", "1096", "1128"}));
  EXPECT_EQ(raw("network.interface.in.bytes", "eth0"),
            (Values{"123456789", "123461789", "123466789", "123471789", "123476789"}));
  EXPECT_EQ(raw("mem.util.used"),
            (Values{"10000000", "10000000", "10000000", "10000000", "10000000"}));
  // What appeared at scrape 2 is absent before.
  EXPECT_EQ(raw("openmetrics.engine.vllm.num_preemptions_total", "0 engine:0"),
            (Values{"", "", "3", "3", "3"}));
  EXPECT_EQ(raw("openmetrics.engine.vllm.num_requests_running", "1 engine:1 model_name:qwen"),
            (Values{"", "", "7", "7", "7"}));

  // pmrep's CSV converts the counters to rates: 100 tokens and 1000 ms of user CPU per record,
  // over each record's own interval, which together make the archive's span.
  auto range = archive_time_range(o.archive);
  ASSERT_TRUE(range) << range.error().message();
  const double span = range->second - range->first;
  ASSERT_GT(span, 1.5);
  const auto rows = pmrep_csv(o.archive, "kernel.all.cpu.user "
                              "openmetrics.engine.vllm.prompt_tokens_total", "-u");
  double cpu_seconds = 0, token_seconds = 0;
  int rates = 0;
  for (const auto& row : rows) {
    ASSERT_GE(row.size(), 3u);
    if (row[1].empty()) continue;  // the first record has no rate yet
    cpu_seconds += 1000.0 / std::stod(row[1]);
    token_seconds += 100.0 / std::stod(row[2]);
    ++rates;
  }
  EXPECT_EQ(rates, 4);
  EXPECT_NEAR(cpu_seconds, span, 0.01);
  EXPECT_NEAR(token_seconds, span, 0.01);

  // pmlogsummary's time-averaged rate of a counter: its increase over the archive's span.
  ToolResult summary = run_tool("pmlogsummary", o.archive + " kernel.all.cpu.user "
                                "openmetrics.engine.vllm.prompt_tokens_total");
  ASSERT_EQ(summary.status, 0) << summary.out;
  double cpu_rate = 0, tokens_rate = 0;
  std::stringstream lines(summary.out);
  for (std::string line; std::getline(lines, line);) {
    std::stringstream words(line);
    std::string name, instance;
    words >> name;
    if (name == "kernel.all.cpu.user") words >> cpu_rate;
    if (name == "openmetrics.engine.vllm.prompt_tokens_total" &&
        std::getline(words >> std::ws, instance, ']')) {
      words >> tokens_rate;
    }
  }
  // kernel.all.cpu.user is ms/s, which pmlogsummary prints as a utilisation (s/s).
  EXPECT_NEAR(cpu_rate, 4.0 / span, 0.002) << summary.out;
  EXPECT_NEAR(tokens_rate, 400.0 / span, 0.01 * 400.0 / span) << summary.out;

  ToolResult check = run_tool("pmlogcheck", o.archive);
  EXPECT_EQ(check.status, 0) << check.out;

  // And the summary the report reads: CPU busy from the fake counters, memory used.
  auto w = summarize_archive(o.archive, range->first, range->second);
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(w->samples, 5);
  // Per scrape: user +100 jiffies, idle +300: busy 25% of the time that passed.
  EXPECT_NEAR(w->cpu_busy_percent.value_or(-1), 25.0, 1e-9);
  EXPECT_DOUBLE_EQ(w->mem_used_bytes.value_or(-1), 10000000.0 * 1024);
  EXPECT_TRUE(w->has_gpu);
  EXPECT_DOUBLE_EQ(w->gpu_util_percent.value_or(-1), (37 + 80) / 2.0);
  EXPECT_DOUBLE_EQ(w->gpu_mem_used_bytes.value_or(-1), double(4ull << 30));
  EXPECT_DOUBLE_EQ(w->pcie_tx_bytes_per_s.value_or(-1), 4000000);
  EXPECT_DOUBLE_EQ(w->pcie_rx_bytes_per_s.value_or(-1), 6000000);
}

TEST(MonitorArchiveTest, StopFlagEndsTheRunAndTheArchiveIsFinished) {
  TempDir dir;
  write_fake_proc(dir / "root", {});
  MonitorOptions o;
  o.archive = dir / "stopped";
  o.interval_s = 0.05;
  o.proc_root = dir / "root";
  o.gpu = false;
  o.log = [](const std::string&) {};
  std::atomic<int> stop{0};
  o.on_record = [&](int records) {
    if (records == 3) stop = 15;  // as SIGTERM's handler would
  };
  auto stats = run_monitor(o, stop);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->records, 3);
  ToolResult check = run_tool("pmlogcheck", o.archive);
  EXPECT_EQ(check.status, 0) << check.out;
  // A second monitor refuses the finished archive without talk of recovery.
  auto again = run_monitor(o, stop);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("already exists"), std::string::npos)
      << again.error().message();
}

TEST(MonitorArchiveTest, NoGpuSourceIsOneLogLineAndNoGpuMetrics) {
  TempDir dir;
  write_fake_proc(dir / "root", {});
  MonitorOptions o;
  o.archive = dir / "nogpu";
  o.interval_s = 0.05;
  o.duration_s = 0.1;
  o.proc_root = dir / "root";
  o.open_gpu = [] { return open_nvml("/nonexistent/libnvidia-ml.so.1"); };
  std::vector<std::string> logs;
  o.log = [&](const std::string& line) { logs.push_back(line); };
  std::atomic<int> stop{0};
  auto stats = run_monitor(o, stop);
  ASSERT_TRUE(stats) << stats.error().message();
  ASSERT_GE(logs.size(), 2u);
  EXPECT_NE(logs[0].find("no GPU metrics"), std::string::npos) << logs[0];
  EXPECT_NE(logs[0].find("/nonexistent/libnvidia-ml.so.1"), std::string::npos) << logs[0];
  ToolResult names = run_tool("pminfo", "-a " + o.archive);
  ASSERT_EQ(names.status, 0) << names.out;
  EXPECT_EQ(names.out.find("nvidia"), std::string::npos) << names.out;
  EXPECT_NE(names.out.find("kernel.all.cpu.user"), std::string::npos) << names.out;
}


TEST(MonitorArchiveTest, OwnCpuTimeIsChargedToThePhaseThatSpentIt) {
  TempDir dir;
  write_fake_proc(dir / "root", {});
  MonitorOptions o;
  o.archive = dir / "cost";
  o.interval_s = 0.1;
  o.duration_s = 0.3;  // records at 0, 0.1, 0.2, 0.3 s
  o.proc_root = dir / "root";
  o.open_gpu = [] {
    auto fake = std::make_unique<FakeGpuSource>(std::vector<GpuSample>{fake_gpu(1, 1, 1, 1)});
    fake->burn_cpu_s = 0.02;
    return Expected<std::unique_ptr<GpuSource>>(std::move(fake));
  };
  std::vector<std::string> logs;
  o.log = [&](const std::string& line) { logs.push_back(line); };
  std::atomic<int> stop{0};
  auto stats = run_monitor(o, stop);
  ASSERT_TRUE(stats) << stats.error().message();
  ASSERT_EQ(stats->records, 4);
  const MonitorCpu& c = stats->cpu;
  // Four readings of 20 ms of CPU each land on the GPU's share, not on the others.
  EXPECT_GE(c.gpu_s, 0.08);
  EXPECT_LT(c.gpu_s, 0.08 + 0.05);
  EXPECT_LT(c.scrape_s, 0.005);  // no targets: only the clock reads
  for (double share : {c.system_s, c.openmetrics_s, c.write_s}) {
    EXPECT_GE(share, 0.0);
    EXPECT_LT(share, c.gpu_s);
  }
  EXPECT_DOUBLE_EQ(c.total(), c.scrape_s + c.system_s + c.gpu_s + c.openmetrics_s + c.write_s);
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("own CPU time"), std::string::npos) << logs.back();
  EXPECT_NE(logs.back().find(fmt::format("gpu {:.3f}", c.gpu_s)), std::string::npos) << logs.back();
}

}  // namespace
}  // namespace kvtier::monitor
