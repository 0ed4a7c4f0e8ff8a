// Scheduling and KV-cache bookkeeping per engine step, with a model runner that does nothing:
// the engine's own cost per running request per decode step. Variants add the second tier: a
// connector that refuses everything (the engine's hooks alone) and the real CPU offload tier
// with no hits (every newly full block is stored; nothing is ever loaded).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "kv/offload/factory.h"

namespace kvtier::engine {
namespace {

constexpr int32_t kBlockSize = 16;
constexpr int32_t kPromptTokens = 32;
constexpr int32_t kSteps = 2000;  // fixed iterations: every request keeps decoding throughout

// Tiny KV blocks in host memory, so the offload tier has real bytes to copy.
class NullRunner : public model::ModelRunner {
 public:
  explicit NullRunner(int32_t num_blocks) : num_blocks_(num_blocks) {
    config_.vocab_size = 8;
    config_.max_position_embeddings = 1 << 20;
    layout_.num_layers = 1;
    layout_.num_kv_heads = 1;
    layout_.head_dim = 2;
    layout_.block_size = kBlockSize;
    storage_.resize(size_t(num_blocks) * layout_.block_bytes());
  }
  const model::ModelConfig& config() const override { return config_; }
  const kv::KvLayout& kv_layout() const override { return layout_; }
  kv::KvPool kv_pool() override {
    return kv::KvPool{kv::Device::kCpu, storage_.data(), num_blocks_, layout_};
  }
  // A constant row: greedy sampling is one pass over 8 logits.
  Status forward(const model::ForwardBatch& batch, std::vector<float>& logits) override {
    logits.assign(size_t(batch.num_logit_rows()) * size_t(config_.vocab_size), 0.0f);
    return Status::ok();
  }

 private:
  int32_t num_blocks_;
  model::ModelConfig config_;
  kv::KvLayout layout_;
  std::vector<std::byte> storage_;
};

class RefusingConnector : public kv::KvConnector {
 public:
  int32_t lookup(std::span<const uint64_t>) override { return 0; }
  kv::TransferId start_load(std::span<const uint64_t>, std::span<const int32_t>) override {
    return 0;
  }
  bool offer_store(uint64_t, int32_t) override { return false; }
  Completed poll() override { return {}; }
  void drain() override {}
  kv::ConnectorStats stats() const override { return {}; }
};

// kCpu: a tier larger than everything stored (never evicts); kCpuFull: one of 4,096 blocks, full
// after ~64 steps at 1,024 requests, so each later store also evicts (the steady state of a tier
// under sustained load).
enum class Tier { kNone, kRefusing, kCpu, kCpuFull };

void BM_DecodeStep(benchmark::State& state, Tier tier) {
  const int32_t running = int32_t(state.range(0));
  const int32_t max_tokens = kSteps + 64;
  const int32_t blocks_per_seq = (kPromptTokens + max_tokens) / kBlockSize + 2;
  EngineConfig config;
  config.block_size = kBlockSize;
  config.max_num_seqs = running;
  config.max_num_batched_tokens = 8192;
  config.max_model_len = kPromptTokens + max_tokens + 16;
  EngineParts parts;
  auto runner = std::make_unique<NullRunner>(running * blocks_per_seq);
  if (tier == Tier::kRefusing) parts.connector = std::make_unique<RefusingConnector>();
  if (tier == Tier::kCpu || tier == Tier::kCpuFull) {
    kv::OffloadOptions offload;
    offload.kv_transfer_config = fmt::format(
        R"({{"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
        R"("kv_connector_extra_config":{{"num_cpu_blocks":{}}}}})",
        tier == Tier::kCpu ? 200000 : 4096);
    auto connector = kv::create_offload_connector(offload, runner->kv_pool());
    if (!connector) {
      state.SkipWithError(connector.status().to_string().c_str());
      return;
    }
    parts.connector = std::move(connector).value();
  }
  parts.runner = std::move(runner);
  auto engine = std::move(Engine::create(config, std::move(parts))).value();
  uint64_t tokens = 0;
  for (int32_t i = 0; i < running; ++i) {
    GenerationRequest r;
    r.request_id = fmt::format("r{}", i);
    // Distinct prompts: no prefix hits, every block is new.
    for (int32_t k = 0; k < kPromptTokens; ++k) r.prompt_ids.push_back((i * 31 + k) % 8);
    r.prompt_ids[0] = i % 8;
    r.prompt_ids[1] = (i / 8) % 8;
    r.prompt_ids[2] = (i / 64) % 8;
    r.prompt_ids[3] = (i / 512) % 8;
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = max_tokens;
    r.sampling.ignore_eos = true;
    r.sink = [&tokens](RequestOutput&& out) { tokens += out.token_ids.size(); };
    if (!engine->submit(std::move(r))) {
      state.SkipWithError("submit failed");
      return;
    }
  }
  // Prefill everything so the measured steps are pure decode steps.
  while (engine->scheduler().num_running() < running || engine->scheduler().num_waiting() > 0) {
    engine->step();
  }
  engine->step();
  for (auto _ : state) engine->step();
  state.SetItemsProcessed(int64_t(state.iterations()) * running);
  state.counters["ns_per_request_step"] =
      benchmark::Counter(double(state.iterations()) * running,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["running"] = engine->scheduler().num_running();
  benchmark::DoNotOptimize(tokens);
  engine->shutdown(false);
}

BENCHMARK_CAPTURE(BM_DecodeStep, no_tier, Tier::kNone)
    ->Arg(64)
    ->Arg(256)
    ->Arg(1024)
    ->Iterations(kSteps)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeStep, refusing_tier, Tier::kRefusing)
    ->Arg(1024)
    ->Iterations(kSteps)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeStep, cpu_tier_no_hits, Tier::kCpu)
    ->Arg(1024)
    ->Iterations(kSteps)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DecodeStep, cpu_tier_full_no_hits, Tier::kCpuFull)
    ->Arg(1024)
    ->Iterations(kSteps)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace kvtier::engine

BENCHMARK_MAIN();
