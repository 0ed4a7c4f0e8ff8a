// --rampup in the runner (closed loops start their slots over the ramp) and --max-error-rate
// (GuideLLM's sliding window of the last 30 finished requests, applied from the 30th on).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "bench/benchmark_runner.h"
#include "bench/scripted_server.h"
#include "test_support.h"

namespace kvtier::bench {
namespace {

using testing::numbered_conversations;

struct Rig {
  std::unique_ptr<ScriptedServer> server;
  std::unique_ptr<StreamClient> client;
  explicit Rig(ScriptedServerOptions options) {
    server = std::move(ScriptedServer::start(std::move(options))).value();
    client = std::move(StreamClient::create(*parse_target(server->url()), {}, 2)).value();
  }
};

// Requests with index in `failing` answer HTTP 500; the rest stream 2 tokens at once.
ScriptedServerOptions failing_when(std::function<bool(int64_t)> failing) {
  ScriptedServerOptions o;
  o.script = [failing](const nlohmann::json&, int64_t index) {
    ScriptedReply r;
    if (failing(index)) r.status = 500;
    return r;
  };
  return o;
}

Strategy closed_loop(StrategyType type, int64_t slots, double rampup) {
  Strategy s;
  s.type = type;
  s.streams = slots;
  s.max_concurrency = slots;
  s.rampup = rampup;
  return s;
}

// 8 tokens (the requests' max_tokens) 0.15 s apart: a request streams for >= 1.05 s, far past the last slot's start (at
// most 0.3 s in), so no slot finishes (and refills, at a later time) before every slot has
// started, even on a loaded machine.
ScriptedServerOptions slow_replies() {
  ScriptedServerOptions o;
  o.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.itl_s = 0.15;
    return r;
  };
  return o;
}

TEST(Rampup, ClosedLoopsStartTheirSlotsSpreadOverTheRamp) {
  for (const auto type : {StrategyType::kConcurrent, StrategyType::kThroughput}) {
    SCOPED_TRACE(strategy_type_name(type));
    Rig s(slow_replies());
    ConversationSource source(numbered_conversations(1, 8, false), 8);
    auto run = run_benchmark(*s.client, source, closed_loop(type, 4, 0.4),
                             {std::nullopt, 4, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
    ASSERT_TRUE(run.has_value()) << run.error().message();
    ASSERT_EQ(run->records.size(), 4u);
    std::vector<double> due;
    for (const auto& r : run->records) {
      due.push_back(r.scheduled_time - run->start_time);
      EXPECT_GE(*r.request_start, r.scheduled_time);  // never before its slot's time
    }
    std::sort(due.begin(), due.end());
    for (size_t i = 0; i < due.size(); ++i) EXPECT_NEAR(due[i], 0.1 * i, 1e-6);
  }
}

TEST(Rampup, WithoutARampEverySlotStartsAtOnce) {
  Rig s(slow_replies());
  // 8 output tokens, as slow_replies() assumes: with 2, a reply lasted 0.3 s, and a first slot
  // could finish and refill (at a later time) before a descheduled launcher started the third.
  ConversationSource source(numbered_conversations(1, 8, false), 8);
  auto run = run_benchmark(*s.client, source, closed_loop(StrategyType::kConcurrent, 3, 0),
                           {std::nullopt, 3, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  for (const auto& r : run->records) EXPECT_EQ(r.scheduled_time, run->start_time);
}

RunLimits error_rate_limits(int64_t max_requests, double rate) {
  RunLimits l;
  l.max_seconds = 60;
  l.max_requests = max_requests;
  l.max_error_rate = rate;
  return l;
}

TEST(MaxErrorRate, StopsOnceTheLastThirtyRequestsAreBadEnough) {
  // One stream, so requests finish in index order: 40 good ones, then only failures. With a
  // 0.5 limit the window of 30 holds 15 failures after request 55: the benchmark stops there.
  Rig s(failing_when([](int64_t i) { return i >= 40; }));
  ConversationSource source(numbered_conversations(1, 2, false), 8);
  auto run = run_benchmark(*s.client, source, closed_loop(StrategyType::kConcurrent, 1, 0),
                           error_rate_limits(500, 0.5), RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(run->records.size(), 55u);
  EXPECT_EQ(run->stop_constraint, "max_error_rate");
  EXPECT_EQ(run->stop_reason, "max_error_rate 0.5 reached (15 of the last 30 requests errored)");
}

TEST(MaxErrorRate, WaitsForAFullWindowAndIgnoresARateBelowTheLimit) {
  {
    // Everything fails, but the rate is judged only from the 30th finished request on.
    Rig s(failing_when([](int64_t) { return true; }));
    ConversationSource source(numbered_conversations(1, 2, false), 8);
    auto run = run_benchmark(*s.client, source, closed_loop(StrategyType::kConcurrent, 1, 0),
                             error_rate_limits(500, 0.9), RunOptions{}, nullptr);
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->records.size(), 30u);
    EXPECT_EQ(run->stop_constraint, "max_error_rate");
  }
  {
    // One in three fails: below a 0.5 limit, so the benchmark runs to --max-requests.
    Rig s(failing_when([](int64_t i) { return i % 3 == 0; }));
    ConversationSource source(numbered_conversations(1, 2, false), 8);
    auto run = run_benchmark(*s.client, source, closed_loop(StrategyType::kConcurrent, 2, 0),
                             error_rate_limits(90, 0.5), RunOptions{}, nullptr);
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->records.size(), 90u);
    EXPECT_EQ(run->stop_reason, "max_requests reached");
    int64_t errored = 0;
    for (const auto& r : run->records) errored += r.status == RequestStatus::kErrored;
    EXPECT_EQ(errored, 30);
  }
}

}  // namespace
}  // namespace kvtier::bench
