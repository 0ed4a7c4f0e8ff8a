// The CPU offload tier through the real engine on the CPU backend (a random-weight checkpoint of
// a preset, written to a scratch folder), in two experiments:
//   throughput  unique prompts (no prefix is ever shared, so the tier only stores): output tokens
//               per second with the tier off and on, arms interleaved, several repetitions.
//   ttft        a long prefix computed once, pushed out of a capped device pool by other prompts,
//               then asked for again with a new suffix: time to the first token when the tier
//               serves the prefix versus when it is recomputed (and when the device pool still
//               holds it), with the tier's bytes and copy speed.
// A plain program printing tables: the arms must alternate within one process, which Google
// Benchmark's fixed order does not do. Results go to docs/performance.md.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/paths.h"
#include "engine/engine.h"
#include "engine/offline.h"
#include "model/checkpoint_writer.h"
#include "model/presets.h"
#include "timed_connector.h"

namespace kvtier::engine {
namespace {

namespace fs = std::filesystem;
using Seconds = std::chrono::duration<double>;

struct Options {
  std::string mode = "all";  // throughput, ttft or all
  std::string preset = "tiny";
  int32_t threads = 2;
  int32_t reps = 6;
  std::vector<int32_t> concurrency = {4, 32};
  int32_t prompt_tokens = 128;
  int32_t output_tokens = 64;
  int32_t num_cpu_blocks = 20000;
  int32_t cpu_block_size = 0;  // 0: the GPU block size
  int32_t prefix_tokens = 4096;
  int32_t suffix_tokens = 32;
  int32_t ttft_reps = 3;
  bool control = false;  // both throughput arms without the tier: the method's own noise
};

// CPU seconds of this process's threads named `name` (the tier's copy workers: "kv-offload"),
// from /proc (clock-tick resolution).
double thread_cpu_s(const std::string& name) {
  double total = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the ")" that closes the name: state is field 3, utime 14, stime 15.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i >= 14) ticks += std::stod(field);
    }
    total += ticks / double(sysconf(_SC_CLK_TCK));
  }
  return total;
}

double now_s() { return Seconds(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

std::string offload_json(const Options& o) {
  std::string extra = fmt::format(R"("num_cpu_blocks":{})", o.num_cpu_blocks);
  if (o.cpu_block_size > 0) extra += fmt::format(R"(,"block_size":{})", o.cpu_block_size);
  return fmt::format(
      R"({{"kv_connector":"OffloadingConnector","kv_role":"kv_both","kv_connector_extra_config":{{{}}}}})",
      extra);
}

// Not started: run_batch() drives it. With the tier, `timed` (when given) gets the wrapper that
// times the engine thread's calls into it.
Expected<std::unique_ptr<Engine>> make_engine(EngineConfig config, bool offload, const Options& o,
                                              bench::TimedConnector** timed = nullptr) {
  if (offload) config.kv_transfer_config = offload_json(o);
  KVTIER_ASSIGN_OR_RETURN(EngineParts parts, Engine::load_parts(config));
  if (parts.connector) {
    auto wrapped = bench::TimedConnector::wrap(std::move(parts.connector));
    if (!wrapped) return internal_error("the offload connector is not a ChainConnector");
    if (timed) *timed = wrapped.get();
    parts.connector = std::move(wrapped);
  }
  return Engine::create(config, std::move(parts));
}

// Random token ids from the middle of the vocabulary: distinct seeds give prompts sharing no block.
std::vector<int32_t> random_tokens(uint64_t seed, int32_t n) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> pick(1000, 100000);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& id : ids) id = pick(rng);
  return ids;
}

OfflinePrompt prompt(std::vector<int32_t> ids, int32_t max_tokens) {
  OfflinePrompt p;
  p.prompt_ids = std::move(ids);
  p.sampling.temperature = 0.0f;
  p.sampling.max_tokens = max_tokens;
  p.sampling.ignore_eos = true;
  return p;
}

struct Stats {
  double mean = 0, stdev = 0, min = 0, max = 0, median = 0, se = 0;  // se: of the mean
};

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  for (double x : v) s.stdev += (x - s.mean) * (x - s.mean);
  s.stdev = v.size() > 1 ? std::sqrt(s.stdev / double(v.size() - 1)) : 0.0;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const size_t m = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
  s.se = s.stdev / std::sqrt(double(v.size()));
  return s;
}

struct Run {
  double seconds = 0, cpu_seconds = 0, tier_cpu_seconds = 0;
  double in_tier_seconds = 0;  // the engine thread inside the tier's calls
  double drain_seconds = 0;  // after the last request finished, until the tier was idle too
  int64_t output_tokens = 0;
};

// Submits every prompt and drives the engine until it is idle. `seconds` ends when the last
// request finishes (what clients see); stores still in flight then are waited for but not
// counted, as a server never waits for them.
Expected<Run> run_batch(Engine& engine, std::vector<OfflinePrompt> prompts,
                        const bench::TimedConnector* timed = nullptr) {
  static int64_t batch = 0;
  ++batch;
  Run run;
  Status failed;
  double last_finish = 0;
  const double t0 = now_s(), c0 = cpu_s(), w0 = thread_cpu_s("kv-offload");
  const double in0 = timed ? timed->seconds() : 0.0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest r;
    r.request_id = fmt::format("b{}-{}", batch, i);
    r.prompt_ids = std::move(prompts[i].prompt_ids);
    r.sampling = prompts[i].sampling;
    r.sink = [&](RequestOutput&& out) {
      run.output_tokens += int64_t(out.token_ids.size());
      if (!out.error.is_ok()) failed = out.error;
      if (out.finish_reason) last_finish = now_s();
    };
    KVTIER_RETURN_IF_ERROR(engine.submit(std::move(r)));
  }
  engine.run_until_idle();
  const double t1 = now_s();
  if (!failed.is_ok()) return failed;
  run.seconds = last_finish - t0;
  run.drain_seconds = t1 - last_finish;
  run.cpu_seconds = cpu_s() - c0;
  // Both engines' workers count; the one without a tier has none.
  run.tier_cpu_seconds = thread_cpu_s("kv-offload") - w0;
  run.in_tier_seconds = timed ? timed->seconds() - in0 : 0.0;
  return run;
}

Status throughput(const fs::path& model_dir, const Options& o) {
  fmt::print("\n## throughput, no CPU hits: {} prompt + {} output tokens per request, {} reps\n",
             o.prompt_tokens, o.output_tokens, o.reps);
  fmt::print("offload arm: {}\n",
             o.control ? "none (control run: both arms without the tier)" : offload_json(o));
  fmt::print(
      "| concurrency | offload off, out tok/s | offload on, out tok/s "
      "| on / off per pair: mean ± SE, median (min-max) "
      "| CPU s per run off / on (on / off per pair: mean ± SE) "
      "| tier copy threads, CPU s per run | engine thread in the tier, ms per run (% of run) "
      "| blocks stored | stores landing after the last finish, ms |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  std::string created;  // printed after the table
  for (int32_t n : o.concurrency) {
    EngineConfig config;
    config.model_dir = model_dir;
    config.num_threads = o.threads;
    config.max_num_seqs = std::max(n, 1);
    config.max_num_batched_tokens = 8192;
    config.max_model_len = o.prompt_tokens + o.output_tokens + 16;
    const int32_t per_seq = (o.prompt_tokens + o.output_tokens + 15) / 16 + 1;
    config.num_gpu_blocks_override = std::max(256, 2 * n * per_seq);
    const double c0 = now_s();
    KVTIER_ASSIGN_OR_RETURN(auto off, make_engine(config, false, o));
    const double c1 = now_s();
    bench::TimedConnector* timed = nullptr;
    KVTIER_ASSIGN_OR_RETURN(auto on, make_engine(config, !o.control, o, &timed));
    const double c2 = now_s();
    created = fmt::format("{}engine creation at concurrency {}: off {:.2f} s, on {:.2f} s\n",
                          created, n, c1 - c0, c2 - c1);
    std::vector<double> tps[2], cpu[2], tier_cpu, in_tier, in_tier_share, drain, ratio, cpu_ratio;
    // Rep 0 warms both engines up (allocator, page faults of the device pool) and is not counted.
    for (int32_t rep = 0; rep <= o.reps; ++rep) {
      std::vector<OfflinePrompt> prompts;
      for (int32_t i = 0; i < n; ++i) {
        prompts.push_back(
            prompt(random_tokens(uint64_t(n) * 1'000'003 + uint64_t(rep) * 1009 + uint64_t(i),
                                 o.prompt_tokens),
                   o.output_tokens));
      }
      double rep_tps[2] = {0, 0}, rep_cpu[2] = {0, 0};
      // Alternate which arm runs first, so drift in the box's load hits both alike.
      for (int32_t k = 0; k < 2; ++k) {
        const int arm = (rep + k) % 2;  // 0: off, 1: on
        KVTIER_ASSIGN_OR_RETURN(Run r, run_batch(arm ? *on : *off, prompts, arm ? timed : nullptr));
        rep_tps[arm] = double(r.output_tokens) / r.seconds;
        rep_cpu[arm] = r.cpu_seconds;
        if (rep > 0) {
          tps[arm].push_back(rep_tps[arm]);
          cpu[arm].push_back(r.cpu_seconds);
          if (arm == 1) {
            tier_cpu.push_back(r.tier_cpu_seconds);
            in_tier.push_back(r.in_tier_seconds);
            in_tier_share.push_back(r.in_tier_seconds / (r.seconds + r.drain_seconds));
            drain.push_back(r.drain_seconds);
          }
        }
      }
      if (rep > 0) {
        ratio.push_back(rep_tps[1] / rep_tps[0]);
        cpu_ratio.push_back(rep_cpu[1] / rep_cpu[0]);
      }
    }
    const EngineStats st = on->stats();
    const auto stored = st.transfers.count("GPU_to_CPU") ? st.transfers.at("GPU_to_CPU").bytes : 0;
    const Stats a = stats_of(tps[0]), b = stats_of(tps[1]), r = stats_of(ratio);
    fmt::print(
        "| {} | {:.1f} ± {:.1f} ({:.1f}-{:.1f}) | {:.1f} ± {:.1f} ({:.1f}-{:.1f}) "
        "| {:.4f} ± {:.4f}, {:.4f} ({:.4f}-{:.4f}) | {:.3f} / {:.3f} ({:.4f} ± {:.4f}) | {:.4f} "
        "| {:.2f} ({:.2f}%) | {} ({:.1f} MiB), CPU hits {} | {:.2f} |\n",
        n, a.mean, a.stdev, a.min, a.max, b.mean, b.stdev, b.min, b.max, r.mean, r.se, r.median,
        r.min, r.max, stats_of(cpu[0]).mean, stats_of(cpu[1]).mean, stats_of(cpu_ratio).mean,
        stats_of(cpu_ratio).se, stats_of(tier_cpu).mean, stats_of(in_tier).mean * 1e3,
        100.0 * stats_of(in_tier_share).mean,
        int64_t(st.cpu_cache_usage * double(o.num_cpu_blocks) + 0.5),
        double(stored) / double(1 << 20), st.external_prefix_cache_hits,
        stats_of(drain).mean * 1e3);
    std::fflush(stdout);
  }
  fmt::print("{}", created);
  return Status::ok();
}

Status ttft(const fs::path& model_dir, const Options& o) {
  const int32_t bs = 16;
  const int32_t prefix_blocks = o.prefix_tokens / bs;
  EngineConfig config;
  config.model_dir = model_dir;
  config.num_threads = o.threads;
  config.max_num_seqs = 8;
  config.max_num_batched_tokens = 8192;
  config.max_model_len = o.prefix_tokens + o.suffix_tokens + 16;
  // Room for one request of prefix + suffix and a little more: the next long prompt evicts it.
  config.num_gpu_blocks_override = prefix_blocks + o.suffix_tokens / bs + 32;
  fmt::print(
      "\n## TTFT of a {}-token prefix + {}-token suffix (1 output token); device pool capped at {} "
      "blocks of {} tokens\n",
      o.prefix_tokens, o.suffix_tokens, *config.num_gpu_blocks_override, bs);
  fmt::print("offload arm: {}\n", offload_json(o));
  std::vector<double> recompute, from_tier, from_gpu;
  std::vector<double> load_gbps;
  uint64_t load_bytes = 0;
  int32_t cached_tier = 0, cached_recompute = 0, cached_gpu = 0;
  for (int32_t rep = 0; rep < o.ttft_reps; ++rep) {
    const std::vector<int32_t> prefix = random_tokens(7'000'000 + uint64_t(rep), o.prefix_tokens);
    auto with_suffix = [&](uint64_t seed) {
      std::vector<int32_t> ids = prefix;
      const std::vector<int32_t> s = random_tokens(seed, o.suffix_tokens);
      ids.insert(ids.end(), s.begin(), s.end());
      return prompt(std::move(ids), 1);
    };
    for (int arm = 0; arm < 2; ++arm) {
      KVTIER_ASSIGN_OR_RETURN(auto engine, make_engine(config, arm == 1, o));
      // Request 1 computes the prefix; two unrelated prompts of the same length push it out of
      // the device pool (the tier keeps it).
      KVTIER_ASSIGN_OR_RETURN(Run first, run_batch(*engine, {with_suffix(1)}));
      (void)first;
      for (uint64_t f = 0; f < 2; ++f) {
        KVTIER_RETURN_IF_ERROR(
            run_batch(*engine, {prompt(random_tokens(8'000'000 + uint64_t(rep) * 10 + f,
                                                     o.prefix_tokens + o.suffix_tokens),
                                       1)})
                .status());
      }
      const EngineStats before = engine->stats();
      const double t0 = now_s();
      std::vector<OfflineResult> second = generate(*engine, {with_suffix(2)});
      const double t1 = now_s();
      if (!second[0].error.is_ok()) return second[0].error;
      const EngineStats after = engine->stats();
      if (arm == 0) {
        recompute.push_back(t1 - t0);
        cached_recompute = second[0].cached_tokens;
      } else {
        from_tier.push_back(t1 - t0);
        cached_tier = second[0].cached_tokens;
        auto get = [](const EngineStats& s) {
          auto it = s.transfers.find("CPU_to_GPU");
          return it == s.transfers.end() ? EngineStats::Transfer{} : it->second;
        };
        const auto a = get(before), b = get(after);
        load_bytes = b.bytes - a.bytes;
        if (b.seconds > a.seconds)
          load_gbps.push_back(double(load_bytes) / (b.seconds - a.seconds) / 1e9);
        // Request 3: the prefix now sits in the device pool again.
        const double t2 = now_s();
        std::vector<OfflineResult> third = generate(*engine, {with_suffix(3)});
        from_gpu.push_back(now_s() - t2);
        cached_gpu = third[0].cached_tokens;
      }
    }
  }
  const Stats rc = stats_of(recompute), tr = stats_of(from_tier), gp = stats_of(from_gpu);
  fmt::print(
      "| prefix served by | TTFT ms, mean (min-max) of {} | cached_tokens |\n|---|---|---|\n",
      o.ttft_reps);
  fmt::print("| recompute (offload off) | {:.1f} ({:.1f}-{:.1f}) | {} |\n", rc.mean * 1e3,
             rc.min * 1e3, rc.max * 1e3, cached_recompute);
  fmt::print("| CPU tier (offload on) | {:.1f} ({:.1f}-{:.1f}) | {} |\n", tr.mean * 1e3,
             tr.min * 1e3, tr.max * 1e3, cached_tier);
  fmt::print("| device pool (prefix cache hit) | {:.1f} ({:.1f}-{:.1f}) | {} |\n", gp.mean * 1e3,
             gp.min * 1e3, gp.max * 1e3, cached_gpu);
  fmt::print(
      "recompute / tier = {:.1f}x; tier load {} bytes ({:.1f} MiB) per request, {:.2f} GB/s "
      "(mean of the loads' own copy time)\n",
      rc.mean / tr.mean, load_bytes, double(load_bytes) / double(1 << 20),
      stats_of(load_gbps).mean);
  std::fflush(stdout);
  return Status::ok();
}

int run_main(int argc, char** argv) {
  Options o;
  CLI::App app{"CPU offload tier through the engine: throughput with no hits, TTFT from the tier"};
  app.add_option("--mode", o.mode, "throughput, ttft or all")
      ->check(CLI::IsMember({"throughput", "ttft", "all"}));
  app.add_option("--preset", o.preset, "model preset (make-model)");
  app.add_option("--threads", o.threads, "CPU backend threads");
  app.add_option("--reps", o.reps, "throughput repetitions per arm");
  app.add_option("--concurrency", o.concurrency, "requests submitted at once")->delimiter(',');
  app.add_option("--prompt-tokens", o.prompt_tokens);
  app.add_option("--output-tokens", o.output_tokens);
  app.add_option("--num-cpu-blocks", o.num_cpu_blocks);
  app.add_option("--cpu-block-size", o.cpu_block_size, "CPU-tier block_size (0: the GPU's)");
  app.add_option("--prefix-tokens", o.prefix_tokens);
  app.add_option("--suffix-tokens", o.suffix_tokens);
  app.add_option("--ttft-reps", o.ttft_reps);
  app.add_flag("--control", o.control, "throughput: both arms without the tier (noise floor)");
  CLI11_PARSE(app, argc, argv);

  const fs::path dir =
      fs::temp_directory_path() / fmt::format("kvtier_bench_offload_{}", ::getpid());
  fs::create_directories(dir);
  auto config = model::preset_config(o.preset);
  if (!config) {
    fmt::print(stderr, "{}\n", config.status().to_string());
    return 2;
  }
  model::CheckpointWriteOptions w;
  w.out_dir = dir;
  w.seed = 5;
  w.num_threads = o.threads;
  w.tokenizer_dir = default_tokenizer_dir();
  Status s = model::write_random_checkpoint(*config, w);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  fmt::print("preset {}, {} threads, OPENBLAS_CORETYPE={}\n", o.preset, o.threads,
             coretype ? coretype : "(unset)");
  if (s.is_ok() && (o.mode == "throughput" || o.mode == "all")) s = throughput(dir, o);
  if (s.is_ok() && (o.mode == "ttft" || o.mode == "all")) s = ttft(dir, o);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!s.is_ok()) {
    fmt::print(stderr, "error: {}\n", s.to_string());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kvtier::engine

int main(int argc, char** argv) { return kvtier::engine::run_main(argc, argv); }
