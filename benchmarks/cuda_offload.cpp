// The CPU KV tier on the CUDA backend, through the engine (engine::Engine over a CudaModelRunner
// with seeded random weights made on the device, and the native offload connector):
//  - TTFT of a 10k-token prefix plus a short suffix when the prefix comes back from the CPU tier,
//    against recomputing it (no tier) and against a GPU prefix-cache hit. The GPU pool is capped
//    so that two other long prompts push the prefix out of it.
//  - Throughput with the tier on versus off when it never hits: distinct prompts, so every full
//    block is stored and nothing is loaded. Decode-heavy and prefill-heavy workloads; the two
//    engines alternate so that drift hits both alike.
// TTFT for Qwen3-0.6B and Qwen3-8B shapes, throughput for Qwen3-0.6B (the seed's model). Prints a
// summary table at the end; scripts/gpu-serve-offload runs it on the GPU machine and
// docs/performance.md records the figures.
#ifdef KVTIER_HAVE_CUDA
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "kernels/cuda/cuda_check.h"
#include "kv/offload/factory.h"
#include "model/cuda/cuda_model_runner.h"
#include "model/presets.h"
#include "timed_connector.h"

namespace kvtier::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int32_t kBlockSize = 16;
constexpr int32_t kBatchedTokens = 8192;
constexpr int32_t kPrefixTokens = 10000;
constexpr int32_t kSuffixTokens = 32;
// Room for one prefix-sized prompt and a little more: a second and a third long prompt evict
// the first entirely (least recently freed first).
constexpr int32_t kTtftGpuBlocks = (kPrefixTokens + kSuffixTokens) / kBlockSize + 48;
constexpr int32_t kCpuBlocks = 4096;

// Throughput workloads: distinct random prompts, greedy, ignore_eos. Requests arrive in `groups`
// one engine step apart: with one group every sequence fills a block on the same step (a burst
// of stores every 16th step); with 16 the fills, and the stores, spread evenly over the steps.
struct Workload {
  const char* name;
  int32_t requests, prompt_tokens, output_tokens;
  int32_t groups = 1;
};
constexpr Workload kDecodeHeavy{"decode", 128, 128, 128};
constexpr Workload kDecodeStaggered{"decode_staggered", 128, 128, 128, 16};
constexpr Workload kPrefillHeavy{"prefill", 32, 2048, 1};
constexpr int32_t kThroughputGpuBlocks = 4400;  // both workloads fit: no GPU eviction either

double ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Row {
  std::string what, measured, floor, note;
};
std::vector<Row>& rows() {
  static std::vector<Row> r;
  return r;
}

std::string offload_json(int32_t num_cpu_blocks) {
  return fmt::format(R"({{"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
                     R"("kv_connector_extra_config":{{"num_cpu_blocks":{}}}}})",
                     num_cpu_blocks);
}

// An engine driven by this thread (not started) over random weights of `model`. With the tier,
// `timed` (when given) gets the wrapper that times the engine thread's calls into it.
Expected<std::unique_ptr<Engine>> make_engine(const std::string& model, int32_t gpu_blocks,
                                              bool tier, int32_t max_model_len,
                                              bench::TimedConnector** timed = nullptr) {
  KVTIER_ASSIGN_OR_RETURN(model::ModelConfig config, model::preset_config(model));
  model::RunnerOptions o;
  o.device = "cuda";
  o.block_size = kBlockSize;
  o.num_gpu_blocks = gpu_blocks;
  o.max_num_batched_tokens = kBatchedTokens;
  o.max_num_seqs = 256;
  KVTIER_ASSIGN_OR_RETURN(auto runner,
                          model::cuda::CudaModelRunner::create_random(config, o, 1234, {}));
  EngineParts parts;
  if (tier) {
    kv::OffloadOptions offload;
    offload.kv_transfer_config = offload_json(kCpuBlocks);
    KVTIER_ASSIGN_OR_RETURN(auto connector,
                            kv::create_offload_connector(offload, runner->kv_pool()));
    auto wrapped = bench::TimedConnector::wrap(std::move(connector));
    if (!wrapped) return internal_error("the offload connector is not a ChainConnector");
    if (timed) *timed = wrapped.get();
    parts.connector = std::move(wrapped);
  }
  parts.runner = std::move(runner);
  EngineConfig ec;
  ec.device = "cuda";
  ec.block_size = kBlockSize;
  ec.max_num_seqs = 256;
  ec.max_num_batched_tokens = kBatchedTokens;
  ec.max_model_len = max_model_len;
  return Engine::create(ec, std::move(parts));
}

std::vector<int32_t> random_tokens(std::mt19937_64& rng, int32_t n) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& t : ids) t = int32_t(rng() % 150000);
  return ids;
}

// What a finished request reported.
struct Finished {
  RequestTimings timings;
  int32_t cached_tokens = 0;
  int32_t completion_tokens = 0;
  bool ok = false;
};

Status submit(Engine& e, std::string id, std::vector<int32_t> prompt, int32_t max_tokens,
              Finished* result, bool* done) {
  GenerationRequest r;
  r.request_id = std::move(id);
  r.prompt_ids = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.sampling.max_tokens = max_tokens;
  r.sampling.ignore_eos = true;
  r.sink = [result, done](RequestOutput&& out) {
    if (!out.finish_reason) return;
    *done = true;
    result->timings = out.timings;
    result->cached_tokens = out.cached_tokens;
    result->completion_tokens = out.completion_tokens;
    result->ok = *out.finish_reason == FinishReason::kLength;
  };
  return e.submit(std::move(r));
}

// Steps the engine until `finished` holds, then lets the tier settle: steps until the engine
// has no work (stores landed) or `settle` passed. Fails after `limit` without `finished`.
Status step_until(Engine& e, const std::function<bool()>& finished, const char* what,
                  std::chrono::milliseconds settle = std::chrono::milliseconds(200),
                  std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = SteadyClock::now() + limit;
  while (!finished()) {
    if (SteadyClock::now() > deadline) return internal_error("{} did not finish in {} s", what,
                                                             limit.count());
    e.step();
  }
  const auto settled = SteadyClock::now() + settle;
  while (e.has_work() && SteadyClock::now() < settled) {
    e.step();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return Status::ok();
}

// Runs one request to its end on an otherwise idle engine, then lets its stores land, so the
// next request finds the tier settled.
Expected<Finished> run_one(Engine& e, const std::string& id, std::vector<int32_t> prompt) {
  Finished f;
  bool done = false;
  KVTIER_RETURN_IF_ERROR(submit(e, id, std::move(prompt), 1, &f, &done));
  KVTIER_RETURN_IF_ERROR(step_until(e, [&] { return done; }, id.c_str()));
  if (!f.ok) return internal_error("request {} did not finish with its one token", id);
  return f;
}

double ttft_ms(const Finished& f) { return ms(f.timings.first_token - f.timings.arrival); }

// Model FLOPs of computing `n` new tokens after `cached` cached ones (GEMMs, causal attention,
// one LM-head row).
double prefill_flops(const model::ModelConfig& c, double n, double cached) {
  const double h = c.hidden_size, d = c.head_dim, i = c.intermediate_size;
  const double q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const double gemm = 2 * n * c.num_hidden_layers * (h * (q + 2 * kv) + q * h + 3 * h * i);
  const double keys = n * cached + n * (n + 1) / 2;  // query-key pairs
  return gemm + c.num_hidden_layers * 4.0 * q * keys + 2 * h * double(c.vocab_size);
}

double kv_bytes_per_token(const model::ModelConfig& c) {
  return 2.0 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * 2;
}

// TTFT of prefix + suffix: recomputed (engine without the tier), loaded from the CPU tier, and
// a GPU prefix-cache hit. Each iteration uses a fresh prefix: P + s1 runs (and is stored), two
// other long prompts push P out of the GPU pool, then P + s2 is measured, then P + s3 (GPU hit).
void BM_PrefixTtft(benchmark::State& state, std::string model, bool tier) {
  auto engine = make_engine(model, kTtftGpuBlocks, tier, kTtftGpuBlocks * kBlockSize);
  if (!engine) return state.SkipWithError(engine.error().to_string().c_str());
  Engine& e = **engine;
  std::mt19937_64 rng(42);
  std::vector<double> measured, gpu_hit;
  int64_t from_tier = 0, on_gpu = 0, iteration = 0;
  for (auto _ : state) {
    const std::string it = std::to_string(iteration++);
    const auto prefix = random_tokens(rng, kPrefixTokens);
    auto with_suffix = [&] {
      auto p = prefix;
      auto s = random_tokens(rng, kSuffixTokens);
      p.insert(p.end(), s.begin(), s.end());
      return p;
    };
    Expected<Finished> f = run_one(e, "first" + it, with_suffix());
    for (int k = 0; f && k < 2; ++k)
      f = run_one(e, fmt::format("flush{}-{}", k, it), random_tokens(rng, kPrefixTokens));
    if (!f) return state.SkipWithError(f.error().to_string().c_str());
    const EngineStats mid = e.stats();
    auto m = run_one(e, "measured" + it, with_suffix());
    if (!m) return state.SkipWithError(m.error().to_string().c_str());
    const EngineStats after = e.stats();
    auto hit = run_one(e, "gpu-hit" + it, with_suffix());
    if (!hit) return state.SkipWithError(hit.error().to_string().c_str());
    state.SetIterationTime(ttft_ms(*m) / 1e3);
    measured.push_back(ttft_ms(*m));
    gpu_hit.push_back(ttft_ms(*hit));
    from_tier += int64_t(after.external_prefix_cache_hits - mid.external_prefix_cache_hits);
    on_gpu += int64_t(after.prefix_cache_hits - mid.prefix_cache_hits);
  }
  std::sort(measured.begin(), measured.end());
  std::sort(gpu_hit.begin(), gpu_hit.end());
  const double median = measured[measured.size() / 2];
  const double hit_median = gpu_hit[gpu_hit.size() / 2];
  const double n = double(state.iterations());
  state.counters["ttft_ms"] = median;
  state.counters["gpu_hit_ttft_ms"] = hit_median;
  state.counters["tier_tokens"] = double(from_tier) / n;
  state.counters["gpu_tokens"] = double(on_gpu) / n;

  auto config = model::preset_config(model);
  const double prefix_bytes = kv_bytes_per_token(*config) * kPrefixTokens;
  const double total = kPrefixTokens + kSuffixTokens;
  if (tier) {
    const double load_floor = prefix_bytes / 55e9 * 1e3;
    const double suffix_floor = prefill_flops(*config, kSuffixTokens, kPrefixTokens) / 802e12 * 1e3;
    rows().push_back({fmt::format("{} 10k prefix from the CPU tier", model),
                      fmt::format("TTFT {:.1f} ms (median of {}; {:.0f} tokens from the tier, "
                                  "{:.0f} from GPU cache)",
                                  median, measured.size(), double(from_tier) / n,
                                  double(on_gpu) / n),
                      fmt::format("{:.1f} ms ({:.2f} GB at 55 GB/s + {:.2f} ms suffix)",
                                  load_floor + suffix_floor, prefix_bytes / 1e9, suffix_floor),
                      fmt::format("{:.2f}x floor", median / (load_floor + suffix_floor))});
    rows().push_back({fmt::format("{} 10k prefix GPU prefix-cache hit", model),
                      fmt::format("TTFT {:.1f} ms", hit_median), "", ""});
  } else {
    const double floor = prefill_flops(*config, total, 0) / 802e12 * 1e3;
    rows().push_back({fmt::format("{} 10k prefix recomputed", model),
                      fmt::format("TTFT {:.1f} ms (median of {})", median, measured.size()),
                      fmt::format("{:.1f} ms ({:.1f} TFLOP at 802 TFLOP/s)", floor,
                                  prefill_flops(*config, total, 0) / 1e12),
                      fmt::format("{:.2f}x floor", median / floor)});
  }
}

// Submits the workload with fresh prompts, runs it to the end, returns seconds.
Expected<double> run_workload(Engine& e, const Workload& w, uint64_t seed, int64_t* tokens) {
  std::mt19937_64 rng(seed);
  std::vector<Finished> results(size_t(w.requests));
  std::vector<std::vector<int32_t>> prompts;
  for (int32_t i = 0; i < w.requests; ++i) prompts.push_back(random_tokens(rng, w.prompt_tokens));
  auto done = std::make_unique<bool[]>(size_t(w.requests));  // set by each request's sink
  const auto t0 = SteadyClock::now();
  const int32_t per_group = (w.requests + w.groups - 1) / w.groups;
  for (int32_t i = 0; i < w.requests; ++i) {
    if (i > 0 && i % per_group == 0) e.step();
    KVTIER_RETURN_IF_ERROR(submit(e, fmt::format("{}-{}-{}", w.name, seed, i),
                                  std::move(prompts[size_t(i)]), w.output_tokens,
                                  &results[size_t(i)], &done[size_t(i)]));
  }
  // Timed to the last request's end; the stores still in flight then land before the next run.
  Status st = step_until(
      e, [&] { return std::all_of(done.get(), done.get() + w.requests, [](bool d) { return d; }); },
      w.name, std::chrono::milliseconds(0));
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  KVTIER_RETURN_IF_ERROR(st);
  KVTIER_RETURN_IF_ERROR(step_until(e, [] { return true; }, w.name));
  for (const Finished& f : results) {
    if (!f.ok || f.completion_tokens != w.output_tokens)
      return internal_error("a {} request did not finish with {} tokens", w.name, w.output_tokens);
    if (f.cached_tokens != 0) return internal_error("a {} request hit the cache", w.name);
  }
  *tokens = int64_t(w.requests) * (w.output_tokens > 1 ? w.output_tokens : w.prompt_tokens);
  return seconds;
}

// The tier on versus off with no hits: the two engines alternate over the same prompts.
void BM_NoHitThroughput(benchmark::State& state, std::string model, Workload w) {
  auto off = make_engine(model, kThroughputGpuBlocks, false, 4096);
  if (!off) return state.SkipWithError(off.error().to_string().c_str());
  bench::TimedConnector* timed = nullptr;
  auto on = make_engine(model, kThroughputGpuBlocks, true, 4096, &timed);
  if (!on) return state.SkipWithError(on.error().to_string().c_str());
  int64_t tokens = 0;
  // Warm-up: CUDA graphs of every batch size, cuBLASLt plans, the tier's first stores.
  for (Engine* e : {off->get(), on->get()}) {
    auto s = run_workload(*e, w, 1, &tokens);
    if (!s) return state.SkipWithError(s.error().to_string().c_str());
  }
  std::vector<double> t_off, t_on;
  double in_tier = 0;  // seconds the engine thread spent in the tier over the timed on-runs
  uint64_t seed = 100;
  for (auto _ : state) {
    ++seed;
    const bool on_first = seed % 2 == 0;
    for (int k = 0; k < 2; ++k) {
      const bool use_on = (k == 0) == on_first;
      const double before = timed->seconds();
      auto s = run_workload(use_on ? **on : **off, w, seed, &tokens);
      if (!s) return state.SkipWithError(s.error().to_string().c_str());
      (use_on ? t_on : t_off).push_back(*s);
      if (use_on) in_tier += timed->seconds() - before;
    }
    state.SetIterationTime(t_on.back());
  }
  const EngineStats on_stats = (*on)->stats();
  std::sort(t_off.begin(), t_off.end());
  std::sort(t_on.begin(), t_on.end());
  const double off_rate = double(tokens) / t_off[t_off.size() / 2];
  const double on_rate = double(tokens) / t_on[t_on.size() / 2];
  const auto stored = on_stats.transfers.count("GPU_to_CPU")
                          ? on_stats.transfers.at("GPU_to_CPU")
                          : EngineStats::Transfer{};
  state.counters["off_tok_s"] = off_rate;
  state.counters["on_tok_s"] = on_rate;
  state.counters["on_vs_off_pct"] = 100.0 * (on_rate / off_rate - 1.0);
  state.counters["stored_GB"] = double(stored.bytes) / 1e9;
  state.counters["cpu_hits"] = double(on_stats.external_prefix_cache_hits);
  // Includes the tier's calls while the last stores drain after each timed run.
  const double in_tier_per_run = in_tier / double(t_on.size());
  double on_total = 0;
  for (double t : t_on) on_total += t;
  state.counters["tier_ms_per_run"] = in_tier_per_run * 1e3;
  const char* unit = w.output_tokens > 1 ? "output" : "prompt";
  rows().push_back(
      {fmt::format("{} {} x ({} in, {} out){}, tier off / on, no hits", model, w.requests,
                   w.prompt_tokens, w.output_tokens,
                   w.groups > 1 ? fmt::format(" in {} groups", w.groups) : ""),
       fmt::format("{:.0f} / {:.0f} {} tok/s (median of {})", off_rate, on_rate, unit,
                   t_on.size()),
       fmt::format("{:.2f} GB stored, {} CPU hits; engine thread in the tier {:.1f} ms/run "
                   "({:.1f}% of a run)",
                   double(stored.bytes) / 1e9, on_stats.external_prefix_cache_hits,
                   in_tier_per_run * 1e3, 100.0 * in_tier / on_total),
       fmt::format("{:+.2f}% (spread off {:.1f}%, on {:.1f}%)", 100.0 * (on_rate / off_rate - 1.0),
                   100.0 * (t_off.back() / t_off.front() - 1.0),
                   100.0 * (t_on.back() / t_on.front() - 1.0))});
}

void register_all() {
  for (const std::string model : {"qwen3-0.6b", "qwen3-8b"}) {
    const int iterations = model == "qwen3-8b" ? 3 : 5;
    for (bool tier : {false, true}) {
      benchmark::RegisterBenchmark(
          fmt::format("PrefixTtft/{}/{}", model, tier ? "cpu_tier" : "recompute").c_str(),
          BM_PrefixTtft, model, tier)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(iterations);
    }
    // Throughput on the seed's model only: the 8B pair of engines would double the run.
    if (model != "qwen3-0.6b") continue;
    for (const Workload& w : {kDecodeHeavy, kDecodeStaggered, kPrefillHeavy}) {
      benchmark::RegisterBenchmark(
          fmt::format("NoHitThroughput/{}/{}", model, w.name).c_str(), BM_NoHitThroughput, model,
          w)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(5);
    }
  }
}

void print_table() {
  size_t w[4] = {4, 8, 5, 4};
  for (const Row& r : rows()) {
    w[0] = std::max(w[0], r.what.size());
    w[1] = std::max(w[1], r.measured.size());
    w[2] = std::max(w[2], r.floor.size());
    w[3] = std::max(w[3], r.note.size());
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& c,
                  const std::string& d) {
    std::printf("| %-*s | %-*s | %-*s | %-*s |\n", int(w[0]), a.c_str(), int(w[1]), b.c_str(),
                int(w[2]), c.c_str(), int(w[3]), d.c_str());
  };
  std::printf("\n");
  line("what", "measured", "floor / detail", "vs");
  line(std::string(w[0], '-'), std::string(w[1], '-'), std::string(w[2], '-'),
       std::string(w[3], '-'));
  for (const Row& r : rows()) line(r.what, r.measured, r.floor, r.note);
}

}  // namespace
}  // namespace kvtier::engine

int main(int argc, char** argv) {
  if (kvtier::kernels::cuda::cuda_device_count() == 0) {
    std::printf("bench_cuda_offload: no CUDA device on this machine\n");
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  kvtier::engine::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  kvtier::engine::print_table();
  return 0;
}
#else
#include <cstdio>
int main() {
  std::printf("bench_cuda_offload: this build has no CUDA backend\n");
  return 0;
}
#endif
