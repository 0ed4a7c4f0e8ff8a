// A failed CPU-tier load on the real CPU model (tiny preset, real tokenizer): the request
// recomputes the tokens the load was meant to bring and its greedy output is the engine's
// without a tier; the next load of the recomputed (and stored again) prefix works.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "common/paths.h"
#include "engine/engine.h"
#include "engine/offline.h"
#include "kv/offload/cpu_transfer.h"
#include "kv/offload/offload_config.h"
#include "kv/offload/offload_connector.h"
#include "kv/offload_fakes.h"
#include "model/checkpoint_writer.h"
#include "model/presets.h"

namespace kvtier::engine {
namespace {

namespace fs = std::filesystem;

struct ScratchModel {
  ScratchModel() {
    static std::atomic<int> counter{0};
    dir =
        fs::temp_directory_path() / fmt::format("kvtier_load_failure_{}_{}", ::getpid(), counter++);
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto config = model::preset_config("tiny");
    EXPECT_TRUE(config.has_value());
    model::CheckpointWriteOptions options;
    options.out_dir = dir;
    options.seed = 11;
    options.num_threads = 2;
    options.tokenizer_dir = default_tokenizer_dir();
    status = model::write_random_checkpoint(*config, options);
  }
  ~ScratchModel() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path dir;
  Status status;
};

// Ten GPU blocks of 16 tokens: the 150-token prompt evicts everything else on the device.
EngineConfig capped(const fs::path& dir) {
  EngineConfig c;
  c.model_dir = dir;
  c.max_model_len = 160;
  c.max_num_seqs = 4;
  c.max_num_batched_tokens = 256;
  c.num_gpu_blocks_override = 10;
  c.num_threads = 2;
  return c;
}

OfflinePrompt prompt_a() {
  OfflinePrompt a;
  for (int k = 0; k < 70; ++k) a.prompt_ids.push_back(3000 + 101 * k);
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 6;
  a.sampling.ignore_eos = true;
  return a;
}

// A different one each `round`, so it never hits the tier itself.
OfflinePrompt evicting(int round) {
  OfflinePrompt e = prompt_a();
  for (auto& t : e.prompt_ids) t += 7 + round;
  e.prompt_ids.resize(150);
  e.prompt_ids.back() = 1;
  e.sampling.max_tokens = 2;
  return e;
}

std::unique_ptr<Engine> driven(const EngineConfig& config, bool fail_first_load,
                               kv::CpuOffloadConnector** tier_out = nullptr) {
  auto parts = Engine::load_parts(config);
  EXPECT_TRUE(parts.has_value()) << parts.status().to_string();
  if (!parts) return nullptr;
  if (fail_first_load) {
    const kv::KvPool pool = parts->runner->kv_pool();
    kv::OffloadOptions options;
    options.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
                                 R"("kv_connector_extra_config":{"num_cpu_blocks":64}})";
    auto offload = kv::parse_offload_config(options, pool.layout);
    EXPECT_TRUE(offload.has_value() && offload->has_value());
    auto cpu = kv::create_cpu_block_transfer(pool, 64);
    EXPECT_TRUE(cpu.has_value()) << cpu.status().to_string();
    if (!cpu || !offload || !*offload) return nullptr;
    auto failing = std::make_unique<kv::testing::FailingTransfer>(
        std::move(*cpu), pool, std::vector<int>{}, std::vector<int>{1});
    auto tier =
        std::make_unique<kv::CpuOffloadConnector>(**offload, pool, std::move(failing), nullptr);
    if (tier_out) *tier_out = tier.get();
    parts->connector = std::move(tier);
  }
  auto engine = Engine::create(config, std::move(parts).value());
  EXPECT_TRUE(engine.has_value()) << engine.status().to_string();
  return engine ? std::move(engine).value() : nullptr;
}

OfflineResult run_one(Engine& engine, const OfflinePrompt& p) {
  OfflineResult r = generate(engine, {p})[0];
  EXPECT_TRUE(r.error.is_ok()) << r.error.to_string();
  return r;
}

TEST(EngineRealModelLoadFailure, FailedLoadRecomputesWithTheTierlessGreedyOutput) {
  ScratchModel model;
  ASSERT_TRUE(model.status.is_ok()) << model.status.to_string();

  auto plain = driven(capped(model.dir), false);
  ASSERT_TRUE(plain);
  const std::vector<int32_t> expected = run_one(*plain, prompt_a()).output_ids;
  ASSERT_EQ(expected.size(), 6u);
  plain.reset();

  kv::CpuOffloadConnector* tier = nullptr;
  auto engine = driven(capped(model.dir), true, &tier);
  ASSERT_TRUE(engine && tier);
  EXPECT_EQ(run_one(*engine, prompt_a()).output_ids, expected);
  run_one(*engine, evicting(0));

  // The first load fails with garbage in its device blocks: the prompt is computed again.
  const OfflineResult failed = run_one(*engine, prompt_a());
  EXPECT_EQ(failed.output_ids, expected);
  EXPECT_EQ(failed.cached_tokens, 0);
  EXPECT_EQ(tier->stats().failed_loads, 1u);
  EXPECT_EQ(tier->stats().loads, 0u);

  // Recomputed, stored again, evicted again: this load works and serves four blocks.
  run_one(*engine, evicting(1));
  const OfflineResult loaded = run_one(*engine, prompt_a());
  EXPECT_EQ(loaded.output_ids, expected);
  EXPECT_EQ(loaded.cached_tokens, 64);
  EXPECT_EQ(tier->stats().loads, 1u);

  EXPECT_TRUE(engine->shutdown(true));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.transfers.at("CPU_to_GPU").failed, 1u);
  EXPECT_EQ(s.transfers.at("GPU_to_CPU").failed, 0u);
  EXPECT_EQ(s.kv_cache_usage, 0.0);
}

}  // namespace
}  // namespace kvtier::engine
