// A request's `priority` and `kvtier serve --scheduling-policy`: the flag (command line and
// --config) reaches the engine's config, the field reaches the scheduler through both APIs, and
// the 400s: a non-zero priority under fcfs (vLLM's message, from the engine) and a priority that
// is not an integer. The API runs over the real engine and the fake model runner.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/engine_test_util.h"
#include "server/serve_args.h"
#include "server/test_responder.h"

namespace kvtier::server::testing {
namespace {

using engine::SchedulingPolicy;

TEST(SchedulingPolicyFlag, DefaultsToFcfsAndTakesPriority) {
  ServeArgs fcfs = parse_serve_args({"m"});
  ASSERT_TRUE(fcfs.options) << fcfs.message;
  EXPECT_EQ(fcfs.options->engine.scheduling_policy, SchedulingPolicy::kFcfs);
  ServeArgs priority = parse_serve_args({"m", "--scheduling-policy", "priority"});
  ASSERT_TRUE(priority.options) << priority.message;
  EXPECT_EQ(priority.options->engine.scheduling_policy, SchedulingPolicy::kPriority);
  ServeArgs explicit_fcfs = parse_serve_args({"m", "--scheduling-policy=fcfs"});
  ASSERT_TRUE(explicit_fcfs.options) << explicit_fcfs.message;
  EXPECT_EQ(explicit_fcfs.options->engine.scheduling_policy, SchedulingPolicy::kFcfs);
}

TEST(SchedulingPolicyFlag, AnUnknownPolicyIsAUsageErrorNamingTheFlag) {
  ServeArgs bad = parse_serve_args({"m", "--scheduling-policy", "lifo"});
  EXPECT_FALSE(bad.options);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.message.find("--scheduling-policy"), std::string::npos) << bad.message;
  EXPECT_NE(bad.message.find("lifo"), std::string::npos) << bad.message;
}

TEST(SchedulingPolicyFlag, ComesFromAConfigFileInEitherSpelling) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("kvtier_scheduling_policy_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* key : {"scheduling-policy", "scheduling_policy"}) {
    const auto path = dir / "serve.yaml";
    std::ofstream(path) << "model: m\n" << key << ": priority\n";
    ServeArgs parsed = parse_serve_args({"--config", path.string()});
    ASSERT_TRUE(parsed.options) << key << ": " << parsed.message;
    EXPECT_EQ(parsed.options->engine.scheduling_policy, SchedulingPolicy::kPriority) << key;
    // The command line wins over the file.
    ServeArgs overridden =
        parse_serve_args({"--config", path.string(), "--scheduling-policy", "fcfs"});
    ASSERT_TRUE(overridden.options) << overridden.message;
    EXPECT_EQ(overridden.options->engine.scheduling_policy, SchedulingPolicy::kFcfs) << key;
  }
  std::filesystem::path bad = dir / "bad.yaml";
  std::ofstream(bad) << "model: m\nscheduling-policy: lifo\n";
  EXPECT_FALSE(parse_serve_args({"--config", bad.string()}).options);
  std::filesystem::remove_all(dir);
}

// The API over the real engine (one thread: the test steps the engine and runs posted work).
struct EngineApi {
  explicit EngineApi(SchedulingPolicy policy, int32_t max_num_seqs = 64) {
    engine::EngineConfig config = engine::testing::small_config();
    config.scheduling_policy = policy;
    config.max_num_seqs = max_num_seqs;
    engine::testing::FakeModelRunner::Options options;
    options.vocab_size = 300;  // the byte codec's ids
    t = engine::testing::make_engine(config, options);
    ApiConfig api_config;
    api_config.served_model_names = {"fake-model"};
    api = std::make_unique<Api>(*t->engine, std::make_shared<FakeCodec>(), api_config,
                                [](std::function<void()> task) {
                                  task();
                                  return true;
                                });
  }

  // Parsed, tokenized and submitted to the engine's inbox; not yet scheduled.
  std::shared_ptr<TestResponder> start(const std::string& path, const nlohmann::json& body) {
    HttpRequest request;
    request.method = "POST";
    request.target = path;
    request.body = body.dump();
    auto r = std::make_shared<TestResponder>();
    api->handle(std::move(request), r);
    r->run_posted();
    return r;
  }

  // Steps until every exchange ended; returns their indices in the order they ended.
  std::vector<size_t> finish(const std::vector<std::shared_ptr<TestResponder>>& rs) {
    std::vector<size_t> order;
    for (int i = 0; i < 1000 && order.size() < rs.size(); ++i) {
      t->engine->step();
      for (size_t k = 0; k < rs.size(); ++k) {
        if (rs[k]->ended) continue;
        rs[k]->run_posted();
        if (rs[k]->ended) order.push_back(k);
      }
    }
    return order;
  }

  std::unique_ptr<engine::testing::TestEngine> t;
  std::unique_ptr<Api> api;
};

nlohmann::json completion(int64_t priority) {
  return {{"prompt", {1, 2, 3, 4, 5}}, {"max_tokens", 3}, {"priority", priority}};
}

nlohmann::json chat(nlohmann::json priority) {
  return {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
          {"max_tokens", 3},
          {"priority", std::move(priority)}};
}

TEST(PriorityRequest, TheFieldReachesTheSchedulerFromBothApis) {
  EngineApi h(SchedulingPolicy::kPriority, /*max_num_seqs=*/1);
  std::vector<std::shared_ptr<TestResponder>> rs = {
      h.start("/v1/completions", completion(7)),
      h.start("/v1/chat/completions", chat(-2)),
      h.start("/v1/completions", completion(0)),
      h.start("/v1/chat/completions", chat(0)),
  };
  for (const auto& r : rs) ASSERT_FALSE(r->ended) << r->body;
  h.t->engine->step();  // takes the inbox in and admits the first of the queue
  const engine::Scheduler& s = h.t->engine->scheduler();
  ASSERT_EQ(s.num_running(), 1);
  EXPECT_EQ(s.running()[0]->priority, -2);
  std::vector<int64_t> waiting;
  for (const engine::Sequence* seq : s.waiting()) waiting.push_back(seq->priority);
  EXPECT_EQ(waiting, (std::vector<int64_t>{0, 0, 7}));
  // One at a time: they finish in the scheduler's order, equal priorities by arrival.
  EXPECT_EQ(h.finish(rs), (std::vector<size_t>{1, 2, 3, 0}));
  for (const auto& r : rs) EXPECT_EQ(r->status, 200) << r->body;
}

TEST(PriorityRequest, FcfsAnswersANonZeroPriorityWith400InVllmsWords) {
  EngineApi h(SchedulingPolicy::kFcfs);
  for (auto r : {h.start("/v1/completions", completion(5)),
                 h.start("/v1/chat/completions", chat(-1))}) {
    ASSERT_TRUE(r->ended);
    EXPECT_EQ(r->status, 400) << r->body;
    const nlohmann::json error = r->json()["error"];
    EXPECT_EQ(error["type"], "BadRequestError");
    const std::string message = error["message"];
    EXPECT_NE(message.find("but Priority scheduling is not enabled."), std::string::npos)
        << message;
    EXPECT_NE(message.find("--scheduling-policy priority"), std::string::npos) << message;
  }
  EXPECT_NE(h.start("/v1/completions", completion(5))->json()["error"]["message"]
                .get<std::string>()
                .find("Got priority 5 "),
            std::string::npos);
  EXPECT_EQ(h.t->engine->scheduler().num_waiting(), 0);
  // Priority 0 is every request's default and passes under fcfs.
  auto zero = h.start("/v1/completions", completion(0));
  EXPECT_EQ(h.finish({zero}).size(), 1u);
  EXPECT_EQ(zero->status, 200) << zero->body;
}

TEST(PriorityRequest, APriorityThatIsNoIntegerIs400NamingTheField) {
  EngineApi h(SchedulingPolicy::kPriority);
  for (const nlohmann::json& bad : {nlohmann::json("high"), nlohmann::json(1.5),
                                    nlohmann::json(true), nlohmann::json::array({1})}) {
    for (auto r : {h.start("/v1/completions", {{"prompt", {1, 2}}, {"priority", bad}}),
                   h.start("/v1/chat/completions", chat(bad))}) {
      ASSERT_TRUE(r->ended) << bad;
      EXPECT_EQ(r->status, 400) << bad << " " << r->body;
      const std::string message = r->json()["error"]["message"];
      EXPECT_NE(message.find("priority must be an integer"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(h.t->engine->scheduler().num_waiting(), 0);
  // 2.0 is read as 2, as pydantic reads an int field.
  auto whole =
      h.start("/v1/completions", {{"prompt", {1, 2}}, {"max_tokens", 3}, {"priority", 2.0}});
  ASSERT_FALSE(whole->ended) << whole->body;
  h.t->engine->step();
  ASSERT_EQ(h.t->engine->scheduler().num_running(), 1);
  EXPECT_EQ(h.t->engine->scheduler().running()[0]->priority, 2);
  h.finish({whole});
  EXPECT_EQ(whole->status, 200) << whole->body;
}

}  // namespace
}  // namespace kvtier::server::testing
