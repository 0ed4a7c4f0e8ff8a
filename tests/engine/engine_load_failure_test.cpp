// Failed second-tier transfers through the scheduler: a failed load makes its requests (and any
// request that joined it) recompute the tokens it was meant to provide, a failed store never
// comes back as a CPU hit, and the failures show in the engine's counters. Outputs must equal
// the engine's without a tier.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "engine/engine_test_util.h"
#include "kv/block_hash.h"
#include "kv/offload/cpu_transfer.h"
#include "kv/offload/offload_connector.h"
#include "kv/offload_fakes.h"

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

// 24 GPU blocks: one long request evicts another's prefix on the device.
std::unique_ptr<TestEngine> tiered_engine(int32_t load_polls) {
  FakeModelRunner::Options options;
  options.num_blocks = 24;
  auto config = small_config(kBs);
  config.max_model_len = 96;
  return make_engine(config, options, load_polls);
}

// Runs `prompt` once (its blocks go to the tier), then a long prompt that evicts it on the GPU.
template <typename HoldsFn>
void warm_and_evict(TestEngine& t, const std::vector<int32_t>& prompt, HoldsFn tier_holds) {
  ASSERT_TRUE(t.submit("warm", prompt, greedy(4)).is_ok());
  t.engine->run_until_idle();
  ASSERT_TRUE(t.submit("evict", prompt_of(99, 90), greedy(4)).is_ok());  // all 24 blocks
  t.engine->run_until_idle();
  kv::PrefixMatch match;
  auto hashes = kv::hash_token_blocks(prompt, kBs);
  t.engine->block_manager().match_prefix(hashes, prompt, int32_t(hashes.size()), match);
  ASSERT_TRUE(match.blocks.empty()) << "the GPU still holds the prompt";
  tier_holds(hashes);
}

void warm_and_evict(TestEngine& t, const std::vector<int32_t>& prompt) {
  warm_and_evict(t, prompt, [&](const std::vector<uint64_t>& hashes) {
    ASSERT_TRUE(t.connector->holds(hashes.back()));
  });
}

uint64_t failed(const EngineStats& s, const char* type) {
  auto it = s.transfers.find(type);
  return it == s.transfers.end() ? 0 : it->second.failed;
}

TEST(EngineLoadFailure, FailedLoadRecomputesAndMatchesTheTierlessOutput) {
  auto prompt = prompt_of(21, 40);
  auto t = tiered_engine(/*load_polls=*/3);
  warm_and_evict(*t, prompt);
  t->connector->fail_load_number = 1;
  int64_t recomputed_from = -1;
  t->runner->on_forward = [&](const model::ForwardBatch& b) {
    for (const auto& s : b.seqs) {
      if (recomputed_from < 0 && int32_t(s.tokens.size()) > 1) recomputed_from = s.start_pos;
    }
  };
  ASSERT_TRUE(t->submit("a", prompt, greedy(6)).is_ok());
  t->engine->step();
  EXPECT_EQ(t->engine->stats().num_requests_loading, 1);
  t->engine->run_until_idle();

  EXPECT_EQ(t->connector->failed_loads, 1);
  const Result a = t->outputs.get("a");
  EXPECT_EQ(a.last.finish_reason, FinishReason::kLength);
  EXPECT_EQ(a.tokens, reference(prompt, 6));
  // The whole prompt was computed again: nothing of the failed load counted as cached.
  EXPECT_EQ(recomputed_from, 0);
  EXPECT_EQ(a.last.cached_tokens, 0);
  expect_block_accounting(*t->engine, t->connector);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), 24);
  ASSERT_TRUE(t->engine->shutdown(true));
  const EngineStats s = t->engine->stats();
  EXPECT_EQ(failed(s, "CPU_to_GPU"), 1u);
  EXPECT_EQ(failed(s, "GPU_to_CPU"), 0u);
}

TEST(EngineLoadFailure, RecomputedBlocksAreCachedAgainAndServeLaterHits) {
  auto prompt = prompt_of(22, 40);
  auto t = tiered_engine(2);
  warm_and_evict(*t, prompt);
  t->connector->fail_load_number = 1;
  ASSERT_TRUE(t->submit("a", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  // The recomputed blocks have their keys again: b hits them on the GPU, no load.
  ASSERT_TRUE(t->submit("b", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->loads_started, 1);
  EXPECT_EQ(t->outputs.get("b").last.cached_tokens, 39);  // all but the last token
  EXPECT_EQ(t->outputs.get("a").tokens, reference(prompt, 4));
  EXPECT_EQ(t->outputs.get("b").tokens, t->outputs.get("a").tokens);
  expect_block_accounting(*t->engine, t->connector);
}

TEST(EngineLoadFailure, RequestThatJoinedAFailedLoadRecomputesToo) {
  auto prompt = prompt_of(23, 36);
  auto t = tiered_engine(5);
  warm_and_evict(*t, prompt);
  t->connector->fail_load_number = 1;
  auto longer = prompt;
  longer.push_back(7);
  longer.push_back(8);
  ASSERT_TRUE(t->submit("a", prompt, greedy(4)).is_ok());
  t->engine->step();
  ASSERT_TRUE(t->submit("b", longer, greedy(4)).is_ok());
  t->engine->step();
  EXPECT_EQ(t->engine->stats().num_requests_loading, 2);
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->loads_started, 1);  // b joined a's load, which failed
  EXPECT_EQ(t->connector->failed_loads, 1);
  EXPECT_EQ(t->outputs.get("a").tokens, reference(prompt, 4));
  EXPECT_EQ(t->outputs.get("b").tokens, reference(longer, 4));
  expect_block_accounting(*t->engine, t->connector);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), 24);
}

TEST(EngineLoadFailure, AbortedRequestsFailedLoadFreesItsBlocksUnkeyed) {
  auto prompt = prompt_of(24, 40);
  auto t = tiered_engine(4);
  warm_and_evict(*t, prompt);
  t->connector->fail_load_number = 1;
  ASSERT_TRUE(t->submit("a", prompt, greedy(4)).is_ok());
  t->engine->step();
  t->engine->abort("a");
  t->engine->run_until_idle();
  EXPECT_EQ(t->connector->failed_loads, 1);
  EXPECT_EQ(t->engine->block_manager().num_free_blocks(), 24);
  expect_block_accounting(*t->engine, t->connector);
  // The failed blocks lost their keys: a new request finds nothing on the GPU and computes.
  ASSERT_TRUE(t->submit("b", prompt, greedy(4)).is_ok());
  t->engine->run_until_idle();
  EXPECT_EQ(t->outputs.get("b").tokens, reference(prompt, 4));
  EXPECT_EQ(t->outputs.get("b").last.cached_tokens, 0);
}

// The real CPU tier with copy workers whose first store batch fails (its host slots then hold
// garbage): the failed blocks must never be loaded back.
TEST(EngineLoadFailure, FailedStoreIsNeverServedAsACpuHit) {
  FakeModelRunner::Options options;
  options.num_blocks = 24;
  options.block_size = kBs;
  auto config = small_config(kBs);
  config.max_model_len = 96;
  auto runner = std::make_unique<FakeModelRunner>(options);
  const kv::KvPool pool = runner->kv_pool();
  kv::OffloadConfig offload;
  offload.num_cpu_blocks = 64;
  offload.block_size = kBs;
  auto cpu = kv::create_cpu_block_transfer(pool, 64, {.num_threads = 1});
  ASSERT_TRUE(cpu.has_value()) << cpu.error().to_string();
  auto failing = std::make_unique<kv::testing::FailingTransfer>(
      std::move(*cpu), pool, std::vector<int>{1}, std::vector<int>{});
  auto connector =
      std::make_unique<kv::CpuOffloadConnector>(offload, pool, std::move(failing), nullptr);
  kv::CpuOffloadConnector* tier = connector.get();
  EngineParts parts;
  parts.runner = std::move(runner);
  parts.connector = std::move(connector);
  auto created = Engine::create(config, std::move(parts));
  ASSERT_TRUE(created.has_value()) << created.status().to_string();
  TestEngine t;
  t.engine = std::move(created).value();
  const int32_t free_at_start = tier->stats().num_blocks - tier->stats().num_used_blocks;

  // The prompt's blocks are all offered in its prefill step: they make the first store batch.
  auto prompt = prompt_of(25, 40);
  warm_and_evict(t, prompt, [&](const std::vector<uint64_t>& hashes) {
    EXPECT_EQ(tier->lookup(hashes), 0) << "the failed store's blocks are hits";
  });
  ASSERT_TRUE(t.submit("a", prompt, greedy(6)).is_ok());
  t.engine->run_until_idle();
  EXPECT_EQ(t.outputs.get("a").tokens, reference(prompt, 6));
  EXPECT_EQ(t.outputs.get("a").last.cached_tokens, 0);
  ASSERT_TRUE(t.engine->shutdown(true));
  const EngineStats s = t.engine->stats();
  EXPECT_EQ(s.external_prefix_cache_hits, 0u);
  EXPECT_EQ(failed(s, "GPU_to_CPU"), 1u);
  EXPECT_EQ(s.transfers.at("CPU_to_GPU").count, 0u);
  // Every CPU block the tier holds came from a successful store: none leaked to the failure.
  const kv::ConnectorStats cs = tier->stats();
  EXPECT_EQ(cs.failed_stores, 1u);
  EXPECT_EQ(free_at_start - (cs.num_blocks - cs.num_used_blocks), int32_t(cs.stored_blocks));
  EXPECT_EQ(t.engine->block_manager().num_free_blocks(), 24);
}

}  // namespace
}  // namespace kvtier::engine::testing
