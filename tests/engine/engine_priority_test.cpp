// A request's priority through the engine: refused unless the engine schedules by priority (in
// vLLM's words), and under --scheduling-policy priority the order in which requests run.
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"

namespace kvtier::engine::testing {
namespace {

GenerationRequest request(const std::string& id, int64_t priority,
                          std::vector<std::string>* finished) {
  GenerationRequest r;
  r.request_id = id;
  r.prompt_ids = {1, 2, 3, 4, 5};
  r.sampling = greedy(3);
  r.priority = priority;
  r.sink = [id, finished](RequestOutput&& out) {
    if (out.finish_reason) finished->push_back(id);
  };
  return r;
}

TEST(EnginePriority, FcfsRefusesANonZeroPriorityNamingTheFlag) {
  auto t = make_engine(small_config());
  std::vector<std::string> finished;
  for (int64_t priority : {int64_t(1), int64_t(-4)}) {
    Status s = t->engine->submit(request("p" + std::to_string(priority), priority, &finished));
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.message().find(fmt::format(
                  "Got priority {} but Priority scheduling is not enabled.", priority)),
              std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("--scheduling-policy priority"), std::string::npos);
  }
  EXPECT_TRUE(t->engine->submit(request("zero", 0, &finished)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(finished, std::vector<std::string>{"zero"});
}

TEST(EnginePriority, RunsRequestsInPriorityThenArrivalOrder) {
  auto config = small_config();
  config.scheduling_policy = SchedulingPolicy::kPriority;
  config.max_num_seqs = 1;  // one at a time: the finishing order is the admission order
  auto t = make_engine(config);
  std::vector<std::string> finished;
  for (auto [id, priority] : std::vector<std::pair<std::string, int64_t>>{
           {"late", 7}, {"first-zero", 0}, {"urgent", -3}, {"second-zero", 0}}) {
    ASSERT_TRUE(t->engine->submit(request(id, priority, &finished)).is_ok()) << id;
  }
  t->engine->step();
  ASSERT_EQ(t->engine->scheduler().num_running(), 1);
  EXPECT_EQ(t->engine->scheduler().running()[0]->id, "urgent");
  EXPECT_EQ(t->engine->scheduler().running()[0]->priority, -3);
  t->engine->run_until_idle();
  EXPECT_EQ(finished,
            (std::vector<std::string>{"urgent", "first-zero", "second-zero", "late"}));
}

TEST(EnginePriority, FcfsRunsInArrivalOrder) {
  auto config = small_config();
  config.max_num_seqs = 1;
  auto t = make_engine(config);
  std::vector<std::string> finished;
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(t->engine->submit(request(id, 0, &finished)).is_ok());
  }
  t->engine->run_until_idle();
  EXPECT_EQ(finished, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace kvtier::engine::testing
