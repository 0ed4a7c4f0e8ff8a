// Sampling a decode step's logits (Qwen3's 151,936-token vocabulary): on the device with
// sample_rows, against what the logits path costs (copying the fp32 rows to pinned host memory,
// then the engine's host sampler). Each device figure is one launch for the whole batch,
// synchronised; BM_DeviceSampleGeneral is the same launch with every row on the general
// radix-select path (what the small-top_k path replaces). docs/gpu.md records the results.
#ifdef KVTIER_HAVE_CUDA
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/sampler.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/sampling.h"

namespace kvtier {
namespace {

namespace kc = kernels::cuda;
constexpr int32_t kVocab = 151936;
constexpr int32_t kMaxRows = 256;

enum Mode { kGreedy, kTemperature, kTopKTopP, kTopPLogprobs, kQwen3Defaults };

kc::SampleRowParams params_for(Mode mode, int32_t row) {
  kc::SampleRowParams p;
  p.seed = 1000 + uint64_t(row);
  if (mode == kGreedy) p.temperature = 0.0f;
  if (mode == kTemperature) p.temperature = 0.8f;
  if (mode == kTopKTopP) {
    p.temperature = 0.7f;
    p.top_k = 50;
    p.top_p = 0.9f;
  }
  if (mode == kTopPLogprobs) {
    p.top_p = 0.95f;
    p.num_logprobs = 20;
  }
  if (mode == kQwen3Defaults) {  // generation_config.json of the Qwen3 models
    p.temperature = 0.6f;
    p.top_k = 20;
    p.top_p = 0.95f;
  }
  return p;
}

std::vector<float> random_logits(size_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 2.5f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct DeviceData {
  kc::DeviceBuffer logits, params, results;
  kc::PinnedBuffer host_logits;
  bool ok = false;
  DeviceData() {
    if (kc::cuda_device_count() == 0) return;
    const auto host = random_logits(size_t(kMaxRows) * kVocab);
    auto l = kc::DeviceBuffer::allocate(host.size() * sizeof(float), "bench logits");
    auto p = kc::DeviceBuffer::allocate(kMaxRows * sizeof(kc::SampleRowParams), "bench params");
    auto r = kc::DeviceBuffer::allocate(kMaxRows * sizeof(kc::SampleRowResult), "bench results");
    auto h = kc::PinnedBuffer::allocate(host.size() * sizeof(float), "bench host logits");
    if (!l || !p || !r || !h) return;
    logits = std::move(*l);
    params = std::move(*p);
    results = std::move(*r);
    host_logits = std::move(*h);
    ok = cudaMemcpy(logits.get(), host.data(), host.size() * sizeof(float),
                    cudaMemcpyHostToDevice) == cudaSuccess;
  }
};

DeviceData& data() {
  static DeviceData d;
  return d;
}

using SampleFn = kc::KernelStatus (*)(cudaStream_t, const float*, int32_t, int32_t,
                                      const kc::SampleRowParams*, kc::SampleRowResult*);

void device_sample(benchmark::State& state, SampleFn sample) {
  DeviceData& d = data();
  if (!d.ok) return state.SkipWithError("no CUDA device");
  const int32_t rows = int32_t(state.range(0));
  const Mode mode = Mode(state.range(1));
  std::vector<kc::SampleRowParams> params;
  for (int32_t r = 0; r < rows; ++r) params.push_back(params_for(mode, r));
  cudaMemcpy(d.params.get(), params.data(), rows * sizeof(kc::SampleRowParams),
             cudaMemcpyHostToDevice);
  std::vector<kc::SampleRowResult> out(static_cast<size_t>(rows));
  for (auto _ : state) {
    if (!sample(nullptr, d.logits.get<float>(), rows, kVocab, d.params.get<kc::SampleRowParams>(),
                d.results.get<kc::SampleRowResult>())
             .ok())
      return state.SkipWithError("sample_rows failed");
    cudaMemcpy(out.data(), d.results.get(), rows * sizeof(kc::SampleRowResult),
               cudaMemcpyDeviceToHost);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["rows/s"] = benchmark::Counter(double(rows), benchmark::Counter::kIsRate);
}

void BM_DeviceSample(benchmark::State& state) { device_sample(state, kc::sample_rows); }
void BM_DeviceSampleGeneral(benchmark::State& state) {
  device_sample(state, kc::sample_rows_general);
}

// The logits path: the rows cross PCIe into pinned memory and the host sampler runs on them.
void BM_HostSample(benchmark::State& state) {
  DeviceData& d = data();
  if (!d.ok) return state.SkipWithError("no CUDA device");
  const int32_t rows = int32_t(state.range(0));
  const Mode mode = Mode(state.range(1));
  engine::Sampler sampler;
  std::vector<float> row(kVocab);
  for (auto _ : state) {
    cudaMemcpy(d.host_logits.get(), d.logits.get(), size_t(rows) * kVocab * sizeof(float),
               cudaMemcpyDeviceToHost);
    for (int32_t r = 0; r < rows; ++r) {
      const kc::SampleRowParams p = params_for(mode, r);
      engine::SamplingParams sp;
      sp.temperature = p.temperature;
      sp.top_k = p.top_k;
      sp.top_p = p.top_p;
      if (p.num_logprobs >= 0) sp.logprobs = p.num_logprobs;
      engine::SamplingState st;
      st.init(sp, {}, p.seed, {});
      const float* src = d.host_logits.get<float>() + size_t(r) * kVocab;
      row.assign(src, src + kVocab);
      engine::TokenLogprob lp;
      benchmark::DoNotOptimize(sampler.sample(row, sp, st, &lp));
    }
  }
  state.counters["rows/s"] = benchmark::Counter(double(rows), benchmark::Counter::kIsRate);
}

void sample_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "mode"});
  for (int mode : {kGreedy, kTemperature, kTopKTopP, kTopPLogprobs, kQwen3Defaults})
    for (int rows : {1, 16, 64, 256}) b->Args({rows, mode});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK(BM_DeviceSample)->Apply(sample_args);
BENCHMARK(BM_DeviceSampleGeneral)->Apply(sample_args);
BENCHMARK(BM_HostSample)
    ->ArgNames({"rows", "mode"})
    ->Args({1, kTemperature})
    ->Args({16, kTemperature})
    ->Args({64, kTopKTopP})
    ->Args({256, kTopKTopP})
    ->Args({256, kTopPLogprobs})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace kvtier

BENCHMARK_MAIN();
#else
int main() { return 0; }
#endif  // KVTIER_HAVE_CUDA
