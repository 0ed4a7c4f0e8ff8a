#include "bench/benchmark_runner.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "bench/console_output.h"
#include "bench/scripted_server.h"
#include "test_support.h"

namespace kvtier::bench {
namespace {

using testing::numbered_conversations;

struct Rig {
  std::unique_ptr<ScriptedServer> server;
  std::unique_ptr<StreamClient> client;
  explicit Rig(ScriptedServerOptions options, int lanes = 2) {
    server = std::move(ScriptedServer::start(std::move(options))).value();
    client = std::move(StreamClient::create(*parse_target(server->url()), {}, lanes)).value();
  }
};

Strategy concurrent(int64_t streams) {
  Strategy s;
  s.type = StrategyType::kConcurrent;
  s.streams = streams;
  return s;
}

ScriptedServerOptions paced(double ttft, double itl) {
  ScriptedServerOptions o;
  o.script = [=](const nlohmann::json& body, int64_t) {
    ScriptedReply r;
    r.ttft_s = ttft;
    r.itl_s = itl;
    r.prompt_tokens = ScriptedServer::count_prompt_words(body);
    return r;
  };
  return o;
}

TEST(BenchmarkRunner, MultiTurnChatResendsHistoryWithActualReplies) {
  Rig s(paced(0.0, 0.001));
  ConversationSource source(numbered_conversations(3, 2), 8);
  RunOptions options;
  options.body.model = "scripted-model";
  auto run = run_benchmark(*s.client, source, concurrent(2),
                           {std::nullopt, 6, std::nullopt, std::nullopt}, options, nullptr);
  ASSERT_TRUE(run.has_value()) << run.error().message();
  ASSERT_EQ(run->records.size(), 6u);
  for (const auto& r : run->records) EXPECT_EQ(r.status, RequestStatus::kSuccessful) << r.error;

  auto bodies = s.server->bodies();
  ASSERT_EQ(bodies.size(), 6u);
  // Which conversations the two lanes reached depends on timing (a lane that finishes its
  // conversation starts the next one), so every body is checked against its own question.
  std::set<std::pair<int, int>> seen;  // (conversation, turn)
  for (const auto& b : bodies) {
    int c = -1, t = -1;
    const auto question = b["messages"].back()["content"].get<std::string>();
    ASSERT_EQ(std::sscanf(question.c_str(), "question %d %d", &c, &t), 2) << question;
    seen.emplace(c, t);
    const auto& m = b["messages"];
    // system prefix, then (user, assistant) per earlier turn, then this turn's question.
    ASSERT_EQ(m.size(), 2u + 2u * size_t(t)) << b.dump();
    EXPECT_EQ(m[0]["role"], "system");
    EXPECT_EQ(m[0]["content"], "shared prefix words");
    for (int earlier = 0; earlier < t; ++earlier) {
      EXPECT_EQ(m[1 + 2 * earlier]["content"], fmt::format("question {} {}", c, earlier));
      EXPECT_EQ(m[2 + 2 * earlier]["role"], "assistant");
      EXPECT_EQ(m[2 + 2 * earlier]["content"], "tok tok ");  // the server's actual reply
    }
    EXPECT_EQ(b["max_completion_tokens"], 2);
    EXPECT_EQ(b["ignore_eos"], true);
    EXPECT_EQ(b["stream"], true);
    EXPECT_EQ(b["stream_options"]["include_usage"], true);
    EXPECT_EQ(b["stream_options"]["continuous_usage_stats"], true);
    EXPECT_EQ(b["model"], "scripted-model");
  }
  ASSERT_EQ(seen.size(), 6u);
  for (const auto& [c, t] : seen) {
    if (t > 0) {
      EXPECT_TRUE(seen.count({c, t - 1})) << "turn " << t << " of " << c << " alone";
    }
  }
  // Turns of one conversation are sequential: turn t starts after turn t-1 ended.
  std::map<std::pair<int64_t, int>, const RequestRecord*> turns;
  for (const auto& r : run->records) turns[std::make_pair(r.conversation_index, r.turn_index)] = &r;
  for (const auto& [key, r] : turns) {
    if (key.second == 0) continue;
    const auto* previous = turns.at(std::make_pair(key.first, key.second - 1));
    EXPECT_GE(*r->request_start, *previous->request_end);
  }
  // Prompt tokens grow with the history (the server counts words). Six requests on two lanes
  // take at least one conversation through all three turns.
  const auto full =
      std::find_if(turns.begin(), turns.end(), [](const auto& kv) { return kv.first.second == 2; });
  ASSERT_NE(full, turns.end());
  const int64_t conversation = full->first.first;
  EXPECT_LT(*turns.at(std::make_pair(conversation, 0))->prompt_tokens,
            *full->second->prompt_tokens);
}

TEST(BenchmarkRunner, TextCompletionsJoinHistoryWithSpaces) {
  Rig s(paced(0.0, 0.0));
  ConversationSource source(numbered_conversations(2, 1), 4);
  RunOptions options;
  options.body.format = RequestFormat::kTextCompletions;
  auto run = run_benchmark(*s.client, source, concurrent(1),
                           {std::nullopt, 2, std::nullopt, std::nullopt}, options, nullptr);
  ASSERT_TRUE(run.has_value());
  auto bodies = s.server->bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(bodies[0]["prompt"], "shared prefix words question 0 0");
  EXPECT_EQ(bodies[1]["prompt"], "shared prefix words question 0 0 tok  question 0 1");
  EXPECT_EQ(bodies[1]["max_tokens"], 1);
  EXPECT_FALSE(bodies[1].contains("model"));
}

TEST(BenchmarkRunner, ConcurrencyIsHeldAndNeverExceeded) {
  Rig s(paced(0.005, 0.002));
  ConversationSource source(numbered_conversations(1, 5, false), 16);
  auto run = run_benchmark(*s.client, source, concurrent(4),
                           {std::nullopt, 24, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->records.size(), 24u);
  EXPECT_EQ(run->peak_in_flight, 4);
  EXPECT_LE(s.server->peak_open_streams(), 4);
  EXPECT_EQ(run->stop_reason, "max_requests reached");
  // Every conversation is new (single-turn), each with its own index.
  std::set<int64_t> conversations;
  for (const auto& r : run->records) conversations.insert(r.conversation_index);
  EXPECT_EQ(conversations.size(), 24u);
}

TEST(BenchmarkRunner, DeadlineCutsStreamsAsIncompleteWithTheirTokens) {
  Rig s(paced(0.0, 0.02));
  ConversationSource source(numbered_conversations(1, 100000, false), 8);
  auto run = run_benchmark(*s.client, source, concurrent(3),
                           {0.3, std::nullopt, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  ASSERT_EQ(run->records.size(), 3u);
  EXPECT_EQ(run->stop_reason, "max_seconds reached");
  EXPECT_NEAR(run->end_time - run->start_time, 0.3, 1e-6);  // the deadline, not the cut time
  for (const auto& r : run->records) {
    EXPECT_EQ(r.status, RequestStatus::kIncomplete) << r.error;
    ASSERT_TRUE(r.output_tokens.has_value());
    EXPECT_GT(*r.output_tokens, 0);  // continuous usage counted what arrived
    EXPECT_GE(*r.request_end, run->start_time + 0.3);
  }
}

TEST(BenchmarkRunner, ConstantRateFollowsItsTimetable) {
  Rig s(paced(0.0, 0.0));
  ConversationSource source(numbered_conversations(1, 1, false), 8);
  Strategy constant;
  constant.type = StrategyType::kConstant;
  constant.rate = 20;
  auto run = run_benchmark(*s.client, source, constant,
                           {std::nullopt, 5, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  ASSERT_EQ(run->records.size(), 5u);
  std::vector<double> due;
  for (const auto& r : run->records) due.push_back(r.scheduled_time - run->start_time);
  std::sort(due.begin(), due.end());
  // Unix-scale doubles step by 0.24 us.
  for (size_t i = 0; i < due.size(); ++i) EXPECT_NEAR(due[i], i * 0.05, 1e-6);
  for (const auto& r : run->records) EXPECT_GE(*r.request_start, r.scheduled_time);
}

TEST(BenchmarkRunner, MaxConcurrencyCapsAnOpenLoop) {
  Rig s(paced(0.0, 0.01));
  ConversationSource source(numbered_conversations(1, 10, false), 16);
  Strategy constant;
  constant.type = StrategyType::kPoisson;
  constant.rate = 500;
  constant.max_concurrency = 2;
  auto run = run_benchmark(*s.client, source, constant,
                           {std::nullopt, 8, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->records.size(), 8u);
  EXPECT_EQ(run->peak_in_flight, 2);
  EXPECT_LE(s.server->peak_open_streams(), 2);
}

TEST(BenchmarkRunner, AnInterruptStopsAnOpenLoopAndCancelsWhatIsInFlight) {
  // Every request stalls 600 s before its first token; arrivals are due every 0.2 s.
  Rig s(paced(600.0, 0.0));
  ConversationSource source(numbered_conversations(1, 4, false), 8);
  Strategy constant;
  constant.type = StrategyType::kConstant;
  constant.rate = 5;
  InterruptFlag flag{0};
  RunOptions options;
  options.interrupt = &flag;
  auto progress = [&](const ProgressSnapshot& snap) {
    if (snap.in_flight >= 2) flag.store(SIGINT);
  };
  const auto started = std::chrono::steady_clock::now();
  auto run = run_benchmark(*s.client, source, constant,
                           {600.0, std::nullopt, std::nullopt, std::nullopt}, options, progress);
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120));
  EXPECT_EQ(run->interrupted_by, SIGINT);
  EXPECT_EQ(run->stop_reason, "interrupted by SIGINT");
  ASSERT_GE(run->records.size(), 2u);
  for (const auto& r : run->records) EXPECT_EQ(r.status, RequestStatus::kIncomplete);
  // Nothing started after the interrupt: every request sent is recorded.
  EXPECT_EQ(s.server->completion_requests(), static_cast<int64_t>(run->records.size()));
}

TEST(BenchmarkRunner, AnInterruptStopsAClosedLoop) {
  Rig s(paced(600.0, 0.0));
  ConversationSource source(numbered_conversations(1, 4, false), 8);
  InterruptFlag flag{SIGTERM};  // already up when the run starts
  RunOptions options;
  options.interrupt = &flag;
  auto run = run_benchmark(*s.client, source, concurrent(3),
                           {600.0, std::nullopt, std::nullopt, std::nullopt}, options, nullptr);
  ASSERT_TRUE(run.has_value()) << run.error().message();
  EXPECT_EQ(run->interrupted_by, SIGTERM);
  EXPECT_EQ(run->stop_reason, "interrupted by SIGTERM");
  for (const auto& r : run->records) EXPECT_EQ(r.status, RequestStatus::kIncomplete);
  EXPECT_LE(run->records.size(), 3u);
}

TEST(BenchmarkRunner, MaxErrorsStopsTheBenchmark) {
  ScriptedServerOptions failing;
  failing.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.status = 500;
    return r;
  };
  Rig s(std::move(failing));
  ConversationSource source(numbered_conversations(1, 1, false), 8);
  auto run = run_benchmark(*s.client, source, concurrent(1), {5.0, std::nullopt, 3, std::nullopt},
                           RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->records.size(), 3u);
  EXPECT_EQ(run->stop_reason, "max_errors 3 reached");
  for (const auto& r : run->records) EXPECT_EQ(r.status, RequestStatus::kErrored);
  // The summary names the errors.
  BenchReport report;
  report.benchmarks.push_back(make_result(0, std::move(*run), BenchConfig{}));
  const std::string tables = format_summary_tables(report);
  EXPECT_NE(tables.find("concurrent@1: 3 errored requests; first: HTTP 500"), std::string::npos)
      << tables;
}

TEST(BenchmarkRunner, SampleRequestsKeepsDetailsOfAFew) {
  Rig s(paced(0.0, 0.0));
  ConversationSource source(numbered_conversations(1, 2, false), 8);
  RunOptions options;
  options.sample_requests = 3;
  auto run = run_benchmark(*s.client, source, concurrent(2),
                           {std::nullopt, 10, std::nullopt, std::nullopt}, options, nullptr);
  ASSERT_TRUE(run.has_value());
  ASSERT_TRUE(run->samples.has_value());
  EXPECT_EQ((*run->samples)[0].size(), 3u);
  int detailed = 0;
  for (const auto& r : run->records) detailed += r.request_args.empty() ? 0 : 1;
  EXPECT_EQ(detailed, 3);
  for (size_t i : (*run->samples)[0]) EXPECT_FALSE(run->records[i].request_args.empty());

  RunOptions none;
  none.sample_requests = 0;
  auto bare = run_benchmark(*s.client, source, concurrent(2),
                            {std::nullopt, 4, std::nullopt, std::nullopt}, none, nullptr);
  ASSERT_TRUE(bare.has_value());
  EXPECT_FALSE(bare->samples.has_value());
  for (const auto& r : bare->records) {
    EXPECT_TRUE(r.request_args.empty());
    EXPECT_TRUE(r.output.empty());
    EXPECT_EQ(*r.output_tokens, 2);  // timings and counts stay
  }
}

TEST(BenchmarkRunner, GeneratorFailureIsReported) {
  Rig s(paced(0.0, 0.0));
  ConversationSource source(
      []() -> Expected<ConversationSpec> { return internal_error("tokenizer exploded"); }, 2);
  auto run = run_benchmark(*s.client, source, concurrent(2),
                           {1.0, std::nullopt, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_FALSE(run.has_value());
  EXPECT_NE(run.error().message().find("tokenizer exploded"), std::string::npos);
}

TEST(BenchmarkRunner, AllFailingRequestsStopEarlyWithTheServersError) {
  ScriptedServerOptions failing;
  failing.script = [](const nlohmann::json&, int64_t) {
    ScriptedReply r;
    r.status = 404;
    r.error_body = R"({"error":{"message":"model nope does not exist"}})";
    return r;
  };
  Rig s(std::move(failing));
  ConversationSource source(numbered_conversations(1, 1, false), 64);
  auto run = run_benchmark(*s.client, source, concurrent(4),
                           {30.0, std::nullopt, std::nullopt, std::nullopt}, RunOptions{}, nullptr);
  ASSERT_TRUE(run.has_value());
  ASSERT_TRUE(run->all_failed.has_value());
  EXPECT_NE(run->all_failed->find("model nope does not exist"), std::string::npos);
  EXPECT_LT(run->end_time - run->start_time, 10.0);  // not the whole 30 s
  EXPECT_GE(run->records.size(), static_cast<size_t>(kFailFastRequests));
}

}  // namespace
}  // namespace kvtier::bench
