// CPU generation speed of the tiny preset (the embedded default): decode steps at batch 1 and
// 32 (output tokens/s at a 128-token context), prefill throughput, and whole offline generation.
// Results go to docs/performance.md ("CPU forward pass (tiny model)").
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>

#include "model/checkpoint_writer.h"
#include "model/model_runner.h"
#include "model/offline_generator.h"
#include "model/presets.h"

namespace {

namespace fs = std::filesystem;
using namespace kvtier;

constexpr int32_t kContext = 128;

// The tiny preset, written once per process into a temp folder.
const fs::path& tiny_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("kvtier_bench_tiny_" + std::to_string(::getpid()));
    model::CheckpointWriteOptions o;
    o.out_dir = d;
    auto config = model::preset_config("tiny");
    if (Status s = model::write_random_checkpoint(*config, o); !s) {
      fprintf(stderr, "make-model failed: %s\n", s.to_string().c_str());
      std::exit(1);
    }
    std::atexit([] {
      fs::remove_all(fs::temp_directory_path() /
                     ("kvtier_bench_tiny_" + std::to_string(::getpid())));
    });
    return d;
  }();
  return dir;
}

std::unique_ptr<model::ModelRunner> make_runner(int32_t blocks) {
  model::RunnerOptions o;
  o.model_dir = tiny_dir();
  o.num_gpu_blocks = blocks;
  auto r = model::create_model_runner(o);
  if (!r) {
    fprintf(stderr, "%s\n", r.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

std::vector<int32_t> random_prompt(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> p(n);
  for (auto& t : p) t = int32_t(rng() % 151643);
  return p;
}

// One decode step for `batch` sequences that each hold kContext cached tokens.
void BM_DecodeStep(benchmark::State& state) {
  const int batch = int(state.range(0));
  const int32_t blocks_per_seq = (kContext + 1 + 15) / 16;
  auto runner = make_runner(batch * blocks_per_seq);
  std::vector<std::vector<int32_t>> prompts, tables;
  for (int s = 0; s < batch; ++s) {
    prompts.push_back(random_prompt(kContext + 1, s));
    std::vector<int32_t> t;
    for (int b = 0; b < blocks_per_seq; ++b) t.push_back(s * blocks_per_seq + b);
    tables.push_back(t);
  }
  std::vector<float> logits;
  for (int s = 0; s < batch; ++s) {
    model::ForwardBatch b;
    b.seqs.push_back({std::span(prompts[s]).subspan(0, kContext), 0, tables[s], false});
    if (!runner->forward(b, logits)) std::exit(1);
  }
  model::ForwardBatch step;
  for (int s = 0; s < batch; ++s)
    step.seqs.push_back({std::span(prompts[s]).subspan(kContext, 1), kContext, tables[s], true});
  for (auto _ : state) {
    if (!runner->forward(step, logits)) state.SkipWithError("forward failed");
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tok/s"] =
      benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_DecodeStep)->Arg(1)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

// Prefill of one prompt of `len` tokens in one step.
void BM_Prefill(benchmark::State& state) {
  const int len = int(state.range(0));
  auto runner = make_runner((len + 15) / 16);
  auto prompt = random_prompt(len, 1);
  std::vector<int32_t> table((len + 15) / 16);
  for (size_t i = 0; i < table.size(); ++i) table[i] = int32_t(i);
  model::ForwardBatch b;
  b.seqs.push_back({prompt, 0, table, true});
  std::vector<float> logits;
  for (auto _ : state)
    if (!runner->forward(b, logits)) state.SkipWithError("forward failed");
  state.counters["tok/s"] =
      benchmark::Counter(double(len), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Prefill)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// What `kvtier generate` does: `batch` prompts of 128 tokens, 64 greedy tokens each.
void BM_Generate(benchmark::State& state) {
  const int batch = int(state.range(0));
  constexpr int kNew = 64;
  auto runner = make_runner(batch * ((kContext + kNew + 15) / 16));
  std::vector<std::vector<int32_t>> prompts;
  for (int s = 0; s < batch; ++s) prompts.push_back(random_prompt(kContext, 100 + s));
  model::GenerateParams p;
  p.max_tokens = kNew;
  for (auto _ : state) {
    auto out = model::generate(*runner, prompts, p);
    if (!out) state.SkipWithError("generate failed");
  }
  state.counters["out tok/s"] =
      benchmark::Counter(double(batch) * kNew, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Generate)->Arg(1)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
