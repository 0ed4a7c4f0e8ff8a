// The CPU offload tier with CPU blocks of one and of four GPU blocks, through the engine on the
// real CPU model (tiny preset): a capped device pool pushes long shared prefixes out, the tier
// brings them back, and every greedy output equals the engine's without a tier.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "common/paths.h"
#include "engine/engine.h"
#include "engine/offline.h"
#include "model/checkpoint_writer.h"
#include "model/presets.h"

namespace kvtier::engine {
namespace {

namespace fs = std::filesystem;

struct ScratchModel {
  ScratchModel() {
    static std::atomic<int> counter{0};
    dir = fs::temp_directory_path() /
          fmt::format("kvtier_offload_groups_{}_{}", ::getpid(), counter++);
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto config = model::preset_config("tiny");
    EXPECT_TRUE(config.has_value());
    model::CheckpointWriteOptions options;
    options.out_dir = dir;
    options.seed = 17;
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

// 24 device blocks of 16 tokens: three prompts of 100-190 tokens do not fit together.
EngineConfig capped(const fs::path& dir, const std::string& extra) {
  EngineConfig c;
  c.model_dir = dir;
  c.max_model_len = 256;
  c.max_num_seqs = 4;
  c.max_num_batched_tokens = 256;
  c.num_gpu_blocks_override = 24;
  c.num_threads = 2;
  if (!extra.empty()) {
    c.kv_transfer_config =
        R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both","kv_connector_extra_config":)" +
        extra + "}";
  }
  return c;
}

// Three long prefixes, each followed by a short suffix that differs per round.
OfflinePrompt prompt(int prefix, int round) {
  OfflinePrompt p;
  const int lengths[] = {100, 133, 170};
  for (int k = 0; k < lengths[prefix]; ++k)
    p.prompt_ids.push_back(2000 + (prefix + 1) * 7919 * (k + 1) % 90000);
  for (int k = 0; k < 5 + 3 * round; ++k)
    p.prompt_ids.push_back(40000 + 104729 * (round + 1) * (k + 1) % 60000);
  p.sampling.temperature = 0.0f;
  p.sampling.max_tokens = 6;
  p.sampling.ignore_eos = true;
  return p;
}

struct Served {
  std::vector<std::vector<int32_t>> outputs;
  std::vector<int32_t> cached;
  EngineStats stats;
};

// One prompt at a time for two rounds (each evicts the others' prefixes on the device), then
// all three at once (preemptions, loads joined while others run).
Served serve(const EngineConfig& config) {
  Served run;
  auto parts = Engine::load_parts(config);
  EXPECT_TRUE(parts.has_value()) << parts.status().to_string();
  if (!parts) return run;
  auto created = Engine::create(config, std::move(parts).value());
  EXPECT_TRUE(created.has_value()) << created.status().to_string();
  if (!created) return run;
  Engine& engine = **created;
  auto record = [&](const std::vector<OfflineResult>& results) {
    for (const OfflineResult& r : results) {
      EXPECT_TRUE(r.error.is_ok()) << r.error.to_string();
      EXPECT_EQ(r.output_ids.size(), 6u);
      run.outputs.push_back(r.output_ids);
      run.cached.push_back(r.cached_tokens);
    }
  };
  for (int round = 0; round < 2; ++round) {
    for (int p = 0; p < 3; ++p) record(generate(engine, {prompt(p, round)}));
  }
  record(generate(engine, {prompt(0, 2), prompt(1, 2), prompt(2, 2)}));
  EXPECT_TRUE(engine.shutdown(true));
  run.stats = engine.stats();
  return run;
}

TEST(EngineOffloadGroups, CpuBlocksOfOneGpuBlockKeepEveryOutput) {
  ScratchModel model;
  ASSERT_TRUE(model.status.is_ok()) << model.status.to_string();
  const Served none = serve(capped(model.dir, ""));
  const Served one = serve(capped(model.dir, R"({"num_cpu_blocks":64})"));
  ASSERT_EQ(none.outputs.size(), 9u);
  EXPECT_EQ(one.outputs, none.outputs);
  EXPECT_EQ(none.stats.external_prefix_cache_hits, 0u);
  EXPECT_GT(one.stats.external_prefix_cache_hits, 0u);
  EXPECT_EQ(one.stats.kv_cache_usage, 0.0);
}

TEST(EngineOffloadGroups, CpuBlocksOfFourGpuBlocksKeepEveryOutput) {
  ScratchModel model;
  ASSERT_TRUE(model.status.is_ok()) << model.status.to_string();
  const Served none = serve(capped(model.dir, ""));
  const Served one = serve(capped(model.dir, R"({"num_cpu_blocks":64})"));
  const Served four = serve(capped(model.dir, R"({"num_cpu_blocks":16,"block_size":64})"));
  ASSERT_EQ(none.outputs.size(), 9u);
  EXPECT_EQ(four.outputs, none.outputs);

  // The tier served evicted prefixes only in whole CPU blocks of 64 tokens, or the rest of one
  // after a device-pool hit: never more than a tier of single blocks.
  EXPECT_GT(four.stats.external_prefix_cache_hits, 0u)
      << "CPU blocks of 4 GPU blocks served nothing: the engine must offer, look up and load "
         "through KvTier's calls that take the sequence (SeqBlocks and a block index)";
  EXPECT_LE(four.stats.external_prefix_cache_hits, one.stats.external_prefix_cache_hits);
  EXPECT_EQ(four.stats.external_prefix_cache_hits % 16, 0u);
  EXPECT_EQ(four.cached[3] % 64, 0) << "prefix 0 again: device hits end inside a group or not";
  const auto stored = four.stats.transfers.find("GPU_to_CPU");
  const auto loaded = four.stats.transfers.find("CPU_to_GPU");
  ASSERT_NE(stored, four.stats.transfers.end());
  ASSERT_NE(loaded, four.stats.transfers.end());
  EXPECT_GT(stored->second.bytes, 0u);
  EXPECT_GT(loaded->second.bytes, 0u);
  EXPECT_EQ(four.stats.kv_cache_usage, 0.0);
}

}  // namespace
}  // namespace kvtier::engine
