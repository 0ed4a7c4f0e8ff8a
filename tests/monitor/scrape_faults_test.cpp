// Garbled, huge, slow and failing scrapes leave gaps and warnings; the archive goes on.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "fake_proc.h"
#include "metrics_server.h"
#include "monitor/monitor.h"
#include "monitor/scraper.h"
#include "pcp_tools.h"

namespace kvtier::monitor {
namespace {

using namespace testing;
using std::chrono::milliseconds;

std::string gauge(int n) { return fmt::format("# TYPE up gauge\nup {}\n", n); }

TEST(ScrapeFaultsTest, BadScrapesLeaveGapsAndTheArchiveGoesOn) {
  TempDir dir;
  write_fake_proc(dir / "root", {});
  // A reply announcing more than the cap (only its start is sent: the cap is checked first).
  const std::string huge = fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
                                       kMaxScrapeBytes + 1, std::string(65536, 'x'));
  MetricsServer server([&](int n) {
    switch (n) {
      case 1:
        return MetricsReply{"this is { not prometheus text\n"};
      case 2:
        return MetricsReply::raw_bytes(huge);
      case 3:
        return MetricsReply{gauge(n), milliseconds(2000)};  // well past half an interval
      case 4:
        return MetricsReply{"oops", milliseconds(0), 500};
      default:
        return MetricsReply{gauge(n)};
    }
  });
  MonitorOptions o;
  o.archive = dir / "faults";
  o.interval_s = 0.6;  // good replies have 300 ms: ample on a loaded machine
  o.duration_s = 4.8;  // 9 records
  o.proc_root = dir / "root";
  o.gpu = false;
  o.targets.push_back(*ScrapeTarget::parse("engine=" + server.url()));
  std::vector<std::string> logs;
  o.log = [&](const std::string& line) { logs.push_back(line); };
  std::atomic<int> stop{0};
  auto stats = run_monitor(o, stop);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->records, 9);
  EXPECT_GE(stats->failed_scrapes, 4);
  std::string all;
  for (const auto& l : logs) all += l + "\n";
  for (const char* expect : {"metrics line 1", "body over", "no answer within 300 ms",
                             "HTTP status 500", "gap in openmetrics.engine"}) {
    EXPECT_NE(all.find(expect), std::string::npos) << "no warning '" << expect << "' in:\n" << all;
  }
  // Scrape N is record N: 1-4 are gaps; the others hold N, unless a loaded machine made that
  // scrape miss its 300 ms too (a gap as well), which cannot happen to all of 5-8.
  ToolResult dump = run_tool("pmdumplog", "-a " + o.archive);
  ASSERT_EQ(dump.status, 0) << dump.out;
  const auto up = dumped_values(dump.out, "openmetrics.engine.up");
  ASSERT_EQ(up.size(), 9u);
  int recorded_after_faults = 0;
  for (size_t i = 0; i < up.size(); ++i) {
    if (i >= 1 && i <= 4) {
      EXPECT_EQ(up[i], "") << "record " << i;
    } else {
      EXPECT_TRUE(up[i].empty() || up[i] == std::to_string(i)) << "record " << i << ": " << up[i];
      recorded_after_faults += i >= 5 && !up[i].empty();
    }
  }
  EXPECT_GE(recorded_after_faults, 1);
  EXPECT_EQ(dumped_values(dump.out, "mem.physmem"), std::vector<std::string>(9, "16000000"));
}

TEST(ScrapeFaultsTest, RefusedConnectionIsAnErrorNamingTheTarget) {
  // A port nobody listens on: bind one, note it, close it.
  int port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto target = ScrapeTarget::parse(fmt::format("gone=http://127.0.0.1:{}/metrics", port));
  ASSERT_TRUE(target);
  auto results = scrape_all({*target}, milliseconds(2000));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0]);
  EXPECT_NE(results[0].error().message().find("gone http://127.0.0.1"), std::string::npos)
      << results[0].error().message();
}

TEST(ScrapeFaultsTest, BodyOverTheCapIsRefused) {
  const std::string big(4096, 'x');
  // With a Content-Length, and without one (read until the connection closes).
  MetricsServer server([&](int n) {
    if (n % 2 == 0) return MetricsReply{big};
    return MetricsReply::raw_bytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big);
  });
  auto target = ScrapeTarget::parse("big=" + server.url());
  ASSERT_TRUE(target);
  for (int i = 0; i < 2; ++i) {
    auto results = scrape_all({*target}, milliseconds(5000), 1024);
    ASSERT_FALSE(results[0]) << "reply " << i;
    EXPECT_NE(results[0].error().message().find("body over 1024 bytes"), std::string::npos)
        << results[0].error().message();
  }
  for (int i = 0; i < 2; ++i) {
    auto fits = scrape_all({*target}, milliseconds(5000), 8192);
    ASSERT_TRUE(fits[0]) << fits[0].error().message();
    EXPECT_EQ(*fits[0], big);
  }
}

TEST(ScrapeTargetTest, ParsesLoopbackUrlsAndRejectsOthers) {
  auto t = ScrapeTarget::parse("engine=http://127.0.0.1:8000/metrics");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "engine");
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8000);
  EXPECT_EQ(t->path, "/metrics");
  auto v6 = ScrapeTarget::parse("r=http://[::1]:9/m");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9);
  for (const char* bad : {"engine", "9x=http://127.0.0.1:1/metrics", "a-b=http://127.0.0.1:1/",
                          "e=https://127.0.0.1:1/metrics", "e=http://10.0.0.1:8000/metrics",
                          "e=http://127.0.0.1:0/metrics", "e=http://127.0.0.1:x/metrics"}) {
    auto r = ScrapeTarget::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace kvtier::monitor
