// Randomised operation sequences (submits, aborts at any moment, steps) on tiny pools, with the
// block accounting checked after every step.
#include <gtest/gtest.h>

#include <random>

#include "engine/engine_test_util.h"

namespace kvtier::engine::testing {
namespace {

struct Scenario {
  uint32_t seed;
  int32_t num_blocks;
  int32_t block_size;
  int32_t budget;
  int32_t load_polls;  // 0: no second tier
  SchedulingPolicy policy = SchedulingPolicy::kFcfs;  // priority: random priorities in [-2, 2]
};

struct Totals {
  uint64_t preemptions = 0;
  int64_t loads = 0;
  int64_t compared = 0;
};

// Runs the requests that were neither aborted nor rejected again, together in a roomy engine.
void expect_same_as_roomy_engine(
    const EngineConfig& config, int32_t eos,
    const std::map<std::string, std::pair<std::vector<int32_t>, SamplingParams>>& requests,
    TestEngine& chaotic, Totals& totals) {
  FakeModelRunner::Options options;
  options.num_blocks = 4096 / config.block_size + 64;
  options.eos_token_id = eos;
  auto roomy_config = config;
  roomy_config.max_num_seqs = 256;
  auto roomy = make_engine(roomy_config, options);
  for (const auto& [id, req] : requests)
    ASSERT_TRUE(roomy->submit(id, req.first, req.second).is_ok());
  roomy->engine->run_until_idle();
  for (const auto& [id, req] : requests) {
    EXPECT_EQ(chaotic.outputs.get(id).tokens, roomy->outputs.get(id).tokens) << id;
    ++totals.compared;
  }
}

void run_scenario(Scenario sc, Totals& totals) {
  // Room for one longest request (33 tokens) plus a little: far less than the load offered.
  sc.num_blocks += (36 + sc.block_size - 1) / sc.block_size;
  std::mt19937 rng(sc.seed);
  auto config = small_config(sc.block_size);
  config.max_num_batched_tokens = sc.budget;
  config.max_num_seqs = 8;
  config.max_model_len = sc.num_blocks * sc.block_size;
  config.enable_prefix_caching = rng() % 4 != 0;
  config.scheduling_policy = sc.policy;
  FakeModelRunner::Options options;
  options.num_blocks = sc.num_blocks;
  options.eos_token_id = 3;  // some requests stop early on eos
  auto t = make_engine(config, options, sc.load_polls);
  if (t->connector) t->connector->prompt_only = rng() % 2 == 0;

  // A few shared prefixes make hits, joins and evictions common.
  std::vector<std::vector<int32_t>> prefixes;
  for (int i = 0; i < 4; ++i) prefixes.push_back(random_prompt(rng, 1 + int32_t(rng() % 12)));
  std::vector<std::string> live;
  std::map<std::string, std::pair<std::vector<int32_t>, SamplingParams>> kept;
  int submitted = 0, rejected = 0, aborted = 0;
  for (int op = 0; op < 1500; ++op) {
    const uint32_t r = rng() % 100;
    if (r < 30) {
      std::vector<int32_t> prompt = prefixes[rng() % prefixes.size()];
      auto tail = random_prompt(rng, int32_t(rng() % 10));
      prompt.insert(prompt.end(), tail.begin(), tail.end());
      if (prompt.empty()) prompt.push_back(1);
      SamplingParams p = greedy(1 + int32_t(rng() % 12));
      p.ignore_eos = rng() % 2 == 0;
      if (rng() % 3 == 0) {
        p.temperature = 1.0f;
        p.seed = rng();
      }
      const std::string id = fmt::format("q{}", submitted++);
      GenerationRequest request;
      request.request_id = id;
      request.prompt_ids = prompt;
      request.sampling = p;
      if (sc.policy == SchedulingPolicy::kPriority) request.priority = int64_t(rng() % 5) - 2;
      request.sink = t->outputs.sink_for(id);
      if (t->engine->submit(std::move(request)).is_ok()) {
        live.push_back(id);
        kept[id] = {prompt, p};
      } else {
        ++rejected;  // too long for this pool's max_model_len
      }
    } else if (r < 40 && !live.empty()) {
      const size_t k = rng() % live.size();
      t->engine->abort(live[k]);
      kept.erase(live[k]);
      ++aborted;
      live.erase(live.begin() + std::ptrdiff_t(k));
    } else {
      t->engine->step();
      expect_block_accounting(*t->engine, t->connector);
      if (::testing::Test::HasFatalFailure()) return;
    }
    if (t->connector && rng() % 50 == 0) t->connector->forget_all();
  }
  t->engine->run_until_idle();
  expect_block_accounting(*t->engine, t->connector);
  const auto& bm = t->engine->block_manager();
  EXPECT_EQ(bm.num_free_blocks(), bm.num_blocks());
  EXPECT_TRUE(t->engine->scheduler().empty());
  // Every accepted request ended exactly once, and only aborts ended early without a reason
  // other than stop or length.
  int finished = 0;
  for (const auto& [id, res] : t->outputs.all()) {
    EXPECT_EQ(res.finishes, 1) << id;
    ASSERT_TRUE(res.last.finish_reason) << id;
    EXPECT_NE(*res.last.finish_reason, FinishReason::kError) << id << res.last.error.to_string();
    ++finished;
  }
  EXPECT_EQ(finished + rejected, submitted);
  EXPECT_LT(rejected, submitted / 10);
  EXPECT_GT(aborted, 0) << submitted << " submitted, " << rejected << " rejected";
  const EngineStats stats = t->engine->stats();
  EXPECT_EQ(stats.num_requests_running, 0);
  EXPECT_EQ(stats.num_requests_waiting, 0);
  EXPECT_EQ(stats.kv_cache_usage, 0.0);
  totals.preemptions += stats.num_preemptions;
  if (t->connector) totals.loads += t->connector->loads_started;
  // Aborts only ever hit requests that had not finished yet; the rest must match a calm run.
  for (auto it = kept.begin(); it != kept.end();) {
    const Result r = t->outputs.get(it->first);
    it = r.last.finish_reason == FinishReason::kAbort ? kept.erase(it) : std::next(it);
  }
  expect_same_as_roomy_engine(config, options.eos_token_id, kept, *t, totals);
}

TEST(EngineProperty, TinyPoolsWithoutSecondTier) {
  Totals totals;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(seed);
    run_scenario(
        {seed, 6 + int32_t(seed % 5) * 2, 1 + int32_t(seed % 4), 3 + int32_t(seed % 7) * 5, 0},
        totals);
  }
  EXPECT_GT(totals.preemptions, 50u);
  EXPECT_GT(totals.compared, 1000);
}

TEST(EngineProperty, TinyPoolsWithSecondTier) {
  Totals totals;
  for (uint32_t seed = 100; seed <= 111; ++seed) {
    SCOPED_TRACE(seed);
    run_scenario({seed, 8 + int32_t(seed % 5) * 2, 1 + int32_t(seed % 4), 4 + int32_t(seed % 5) * 6,
                  1 + int32_t(seed % 3)},
                 totals);
  }
  EXPECT_GT(totals.preemptions, 50u);
  EXPECT_GT(totals.loads, 100);
  EXPECT_GT(totals.compared, 1000);
}

TEST(EngineProperty, TinyPoolsUnderPriorityScheduling) {
  Totals totals;
  for (uint32_t seed = 200; seed <= 211; ++seed) {
    SCOPED_TRACE(seed);
    const int32_t load_polls = seed % 2 == 0 ? 0 : 1 + int32_t(seed % 3);
    run_scenario({seed, 8 + int32_t(seed % 5) * 2, 1 + int32_t(seed % 4), 4 + int32_t(seed % 5) * 6,
                  load_polls, SchedulingPolicy::kPriority},
                 totals);
  }
  EXPECT_GT(totals.preemptions, 50u);
  EXPECT_GT(totals.loads, 50);
  EXPECT_GT(totals.compared, 1000);
}

}  // namespace
}  // namespace kvtier::engine::testing
