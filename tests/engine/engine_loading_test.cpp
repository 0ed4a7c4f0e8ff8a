// The second tier through the scheduler: stores of full blocks, LOADING on CPU hits, joined
// loads, and outputs identical to runs without the tier.
#include <gtest/gtest.h>

#include <random>

#include "engine/engine_test_util.h"
#include "kv/block_hash.h"

namespace kvtier::engine::testing {
namespace {

constexpr int32_t kBs = 4;

std::vector<int32_t> prompt_of(uint32_t seed, int32_t len) {
  std::mt19937 rng(seed);
  return random_prompt(rng, len);
}

std::vector<int32_t> reference(const std::vector<int32_t>& prompt, int32_t max_tokens) {
  auto t = make_engine(small_config(kBs));
  EXPECT_TRUE(t->submit("ref", prompt, greedy(max_tokens)).is_ok());
  t->engine->run_until_idle();
  return t->outputs.get("ref").tokens;
}

// An engine whose GPU pool (24 blocks) is small enough that one long request evicts another.
std::unique_ptr<TestEngine> tiered_engine(int32_t load_polls) {
  FakeModelRunner::Options options;
  options.num_blocks = 24;
  auto config = small_config(kBs);
  config.max_model_len = 96;
  return make_engine(config, options, load_polls);
}

// Runs `prompt` once (its blocks go to the tier), then a long prompt that evicts it on the GPU.
void warm_tier_and_evict(TestEngine& t, const std::vector<int32_t>& prompt) {
  ASSERT_TRUE(t.submit("warm", prompt, greedy(4)).is_ok());
  t.engine->run_until_idle();
  ASSERT_TRUE(t.submit("evict", prompt_of(99, 90), greedy(4)).is_ok());  // all 24 blocks
  t.engine->run_until_idle();
  kv::PrefixMatch match;
  auto hashes = kv::hash_token_blocks(prompt, kBs);
  t.engine->block_manager().match_prefix(hashes, prompt, int32_t(hashes.size()), match);
  ASSERT_TRUE(match.blocks.empty()) << "the GPU still holds the prompt";
  ASSERT_TRUE(t.connector->holds(hashes.back()));
}

TEST(EngineLoading, NewlyFullBlocksAreOfferedOnce) {
  auto t = tiered_engine(1);
  auto prompt = prompt_of(1, 22);  // 5 full prompt blocks; 8 tokens of output fill 2 more
  ASSERT_TRUE(t->submit("a", prompt, greedy(8)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->stores_queued, 7);
  ASSERT_TRUE(t->submit("b", prompt, greedy(8)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->stores_queued, 7);  // b hit a's blocks on the GPU: nothing new
  EXPECT_EQ(t->connector->loads_started, 0);
  EXPECT_EQ(t->outputs.get("a").tokens, t->outputs.get("b").tokens);
}

TEST(EngineLoading, PromptOnlyStoresSkipGeneratedBlocks) {
  auto t = tiered_engine(1);
  t->connector->prompt_only = true;
  ASSERT_TRUE(t->submit("a", prompt_of(1, 22), greedy(8)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->stores_queued, 5);
}

TEST(EngineLoading, CpuHitWaitsInLoadingWhileOthersRun) {
  auto prompt = prompt_of(2, 40);
  auto other = prompt_of(3, 10);
  auto t = tiered_engine(/*load_polls=*/4);
  warm_tier_and_evict(*t, prompt);
  const uint64_t ext_hits_before = t->engine->stats().external_prefix_cache_hits;

  ASSERT_TRUE(t->submit("a", prompt, greedy(6)).is_ok());
  ASSERT_TRUE(t->submit("c", other, greedy(12)).is_ok());
  t->engine->step();
  EXPECT_EQ(t->engine->stats().num_requests_loading, 1);
  EXPECT_EQ(t->connector->loads_started, 1);
  EXPECT_EQ(t->connector->blocks_loaded, 10);
  for (int i = 0; i < 2; ++i) {
    t->engine->step();
    expect_block_accounting(*t->engine, t->connector);
  }
  // c ran while a waited for its KV.
  EXPECT_EQ(t->outputs.get("a").deltas, 0);
  EXPECT_GE(t->outputs.get("c").tokens.size(), 2u);
  t->engine->run_until_idle();

  Result a = t->outputs.get("a");
  EXPECT_EQ(a.tokens, reference(prompt, 6));
  EXPECT_EQ(t->outputs.get("c").tokens, reference(other, 12));
  // Every prompt block came from the tier; only the last token was computed again.
  EXPECT_EQ(a.last.cached_tokens, 39);
  EXPECT_EQ(t->engine->stats().external_prefix_cache_hits - ext_hits_before, 39u);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), 24);
}

TEST(EngineLoading, FullPromptHitRecomputesOnlyTheLastToken) {
  auto prompt = prompt_of(4, 32);
  auto t = tiered_engine(2);
  warm_tier_and_evict(*t, prompt);
  int32_t recomputed = -1;
  t->runner->on_forward = [&](const model::ForwardBatch& b) {
    for (const auto& s : b.seqs) {
      if (s.start_pos == 31) recomputed = int32_t(s.tokens.size());
    }
  };
  ASSERT_TRUE(t->submit("a", prompt, greedy(3)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(recomputed, 1);
  EXPECT_EQ(t->outputs.get("a").tokens, reference(prompt, 3));
}

TEST(EngineLoading, SecondRequestJoinsTheLoadInFlight) {
  auto prompt = prompt_of(5, 36);
  auto t = tiered_engine(5);
  warm_tier_and_evict(*t, prompt);
  auto longer = prompt;
  longer.push_back(7);
  longer.push_back(8);
  ASSERT_TRUE(t->submit("a", prompt, greedy(4)).is_ok());
  t->engine->step();
  ASSERT_TRUE(t->submit("b", longer, greedy(4)).is_ok());
  t->engine->step();
  EXPECT_EQ(t->engine->stats().num_requests_loading, 2);
  expect_block_accounting(*t->engine, t->connector);
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->loads_started, 1);  // b waited on a's load instead of loading again
  EXPECT_EQ(t->outputs.get("a").tokens, reference(prompt, 4));
  EXPECT_EQ(t->outputs.get("b").tokens, reference(longer, 4));
  EXPECT_EQ(t->outputs.get("b").last.cached_tokens, 36);
}

TEST(EngineLoading, AbortWhileLoadingKeepsBlocksUntilTheLoadLands) {
  auto prompt = prompt_of(6, 40);
  auto t = tiered_engine(6);
  warm_tier_and_evict(*t, prompt);
  ASSERT_TRUE(t->submit("a", prompt, greedy(4)).is_ok());
  t->engine->step();
  t->engine->abort("a");
  t->engine->step();
  EXPECT_EQ(t->outputs.get("a").last.finish_reason, FinishReason::kAbort);
  // The load still writes into its 10 blocks: they are not free yet.
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), 24 - 10);
  expect_block_accounting(*t->engine, t->connector);
  t->engine->run_until_idle();
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), 24);
  // The loaded blocks stay in the GPU cache: a new request hits them there.
  ASSERT_TRUE(t->submit("b", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->loads_started, 1);
  EXPECT_EQ(t->outputs.get("b").tokens, reference(prompt, 4));
}

TEST(EngineLoading, StoreInFlightKeepsItsBlockFromReuse) {
  FakeModelRunner::Options options;
  options.num_blocks = 8;
  auto config = small_config(kBs);
  config.max_model_len = 32;
  auto runner = std::make_unique<FakeModelRunner>(options);
  auto connector = std::make_unique<FakeConnector>(runner->kv_pool(), 1, /*store_polls=*/1000);
  FakeConnector* c = connector.get();
  EngineParts parts;
  parts.runner = std::move(runner);
  parts.connector = std::move(connector);
  auto engine = std::move(Engine::create(config, std::move(parts))).value();
  Collector outputs;
  GenerationRequest r;
  r.request_id = "a";
  r.prompt_ids = prompt_of(7, 12);
  r.sampling = greedy(2);
  r.sink = outputs.sink_for("a");
  ASSERT_TRUE(engine->submit(std::move(r)).is_ok());
  for (int i = 0; i < 5; ++i) engine->step();
  ASSERT_EQ(outputs.get("a").finishes, 1);
  // The request is gone but its three stored blocks are still being copied.
  EXPECT_EQ(engine->block_manager().num_free_blocks(), 8 - 3);
  expect_block_accounting(*engine, c);
  c->drain();
  engine->step();
  EXPECT_EQ(engine->block_manager().num_free_blocks(), 8);
  EXPECT_FALSE(engine->has_work());
}

TEST(EngineLoading, TierWorksWithoutGpuPrefixCaching) {
  auto config = small_config(kBs);
  config.enable_prefix_caching = false;
  auto t = make_engine(config, {}, /*load_polls=*/2);
  auto prompt = prompt_of(9, 30);
  ASSERT_TRUE(t->submit("a", prompt, greedy(5)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->stores_queued, 8);  // 34 tokens computed: 8 full blocks
  ASSERT_TRUE(t->submit("b", prompt, greedy(5)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->loads_started, 1);
  EXPECT_EQ(t->connector->blocks_loaded, 7);  // the prompt's full blocks
  EXPECT_EQ(t->outputs.get("b").last.cached_tokens, 28);
  EXPECT_EQ(t->outputs.get("a").tokens, t->outputs.get("b").tokens);
  EXPECT_EQ(t->engine->stats().prefix_cache_queries, 0u);
}

TEST(EngineLoading, WithoutHitsOutputsMatchTheTierlessEngine) {
  std::mt19937 rng(8);
  // A pool large enough that nothing is preempted (a preempted request reloads from the tier).
  auto t = make_engine(small_config(kBs), {}, /*load_polls=*/3);
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back(random_prompt(rng, 5 + i * 3));
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(t->submit(fmt::format("p{}", i), prompts[i], greedy(5)).is_ok());
  t->engine->run_until_idle();
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(t->outputs.get(fmt::format("p{}", i)).tokens, reference(prompts[i], 5));
  }
  EXPECT_EQ(t->connector->loads_started, 0);
  EXPECT_GT(t->connector->stores_queued, 0);
  const EngineStats s = t->engine->stats();
  EXPECT_EQ(s.external_prefix_cache_hits, 0u);
  EXPECT_GT(s.external_prefix_cache_queries, 0u);
  EXPECT_EQ(s.transfers.count("GPU_to_CPU"), 1u);
  EXPECT_EQ(s.transfers.count("CPU_to_GPU"), 1u);
}

}  // namespace
}  // namespace kvtier::engine::testing
