// The load generator's own cost against the in-process scripted server: client CPU time per
// request (the client's network threads, which also build bodies and parse every chunk), and
// how many concurrent streams it sustains. Results go to docs/performance.md ("Load generator").
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <memory>
#include <string>

#include "bench/benchmark_runner.h"
#include "bench/metrics.h"
#include "bench/scripted_server.h"

namespace kvtier::bench {
namespace {

// Conversations shaped like the seed's workload: a shared prefix of `prefix_chars` characters
// (~5 per token) and `turns` prompts of ~128 tokens.
ConversationSource::Generator conversations(size_t prefix_chars, int turns, int64_t output) {
  auto prefix = std::make_shared<const std::string>(std::string(prefix_chars, 'x'));
  auto counter = std::make_shared<int64_t>(0);
  return [=]() -> Expected<ConversationSpec> {
    ConversationSpec c;
    c.index = (*counter)++;
    c.prefix = prefix;
    for (int t = 0; t < turns; ++t) {
      c.turns.push_back({fmt::format("{} {} {}", c.index, t, std::string(600, 'q')), 128, output});
    }
    return c;
  };
}

struct Rig {
  std::unique_ptr<ScriptedServer> server;
  std::unique_ptr<StreamClient> client;
  Rig(double ttft, double itl, int server_threads, int lanes) {
    ScriptedServerOptions o;
    o.threads = server_threads;
    o.script = [=](const nlohmann::json&, int64_t) {
      ScriptedReply r;
      r.ttft_s = ttft;
      r.itl_s = itl;
      r.prompt_tokens = 128;
      return r;
    };
    server = std::move(ScriptedServer::start(std::move(o))).value();
    client = std::move(StreamClient::create(*parse_target(server->url()), {}, lanes)).value();
  }
};

void report(benchmark::State& state, const BenchmarkRun& run, double server_cpu) {
  int64_t done = 0, incomplete = 0, errored = 0;
  for (const auto& r : run.records) {
    done += r.status == RequestStatus::kSuccessful;
    incomplete += r.status == RequestStatus::kIncomplete;
    errored += r.status == RequestStatus::kErrored;
  }
  MeasureWindow w{run.start_time, run.start_time, run.end_time, run.end_time};
  auto m = compile_metrics(requests_in_window(run.records, w), w);
  const double n = static_cast<double>(run.records.size());
  state.counters["client_cpu_us_per_req"] = n > 0 ? 1e6 * run.client_cpu_seconds / n : 0;
  state.counters["server_cpu_us_per_req"] = n > 0 ? 1e6 * server_cpu / n : 0;
  state.counters["req_per_s"] = m.requests_per_second.successful.mean;
  state.counters["out_tok_per_s"] = m.output_tokens_per_second.total.mean;
  state.counters["peak_in_flight"] = static_cast<double>(run.peak_in_flight);
  state.counters["completed"] = static_cast<double>(done);
  state.counters["incomplete"] = static_cast<double>(incomplete);
  state.counters["errored"] = static_cast<double>(errored);
  state.counters["ttft_p50_ms"] = m.time_to_first_token_ms.successful.median;
  state.counters["ttft_p99_ms"] = m.time_to_first_token_ms.successful.percentiles.p99;
  state.counters["itl_p50_ms"] = m.inter_token_latency_ms.total.median;
  state.counters["itl_p99_ms"] = m.inter_token_latency_ms.total.percentiles.p99;
}

// Args: concurrency, output tokens, prefix characters, turns. The server answers at once
// (no delays), so the run is bound by CPU: client and server share the machine.
void BM_ClientCpuPerRequest(benchmark::State& state) {
  const int64_t concurrency = state.range(0);
  const int64_t output = state.range(1);
  Rig rig(0.0, 0.0, 1, 1);
  for (auto _ : state) {
    ConversationSource source(conversations(static_cast<size_t>(state.range(2)),
                                            static_cast<int>(state.range(3)), output),
                              256);
    Strategy s;
    s.type = StrategyType::kConcurrent;
    s.streams = concurrency;
    const double server_cpu = rig.server->cpu_seconds();
    auto run = run_benchmark(*rig.client, source, s, {std::nullopt, 2000, std::nullopt},
                             RunOptions{{}, 0, 0, 42}, nullptr);
    if (!run) {
      state.SkipWithError(run.error().message().c_str());
      return;
    }
    report(state, *run, rig.server->cpu_seconds() - server_cpu);
  }
}
BENCHMARK(BM_ClientCpuPerRequest)
    ->ArgNames({"conc", "out", "prefix_chars", "turns"})
    ->Args({16, 128, 0, 1})
    ->Args({16, 128, 50000, 5})
    ->Args({256, 128, 50000, 5})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

// Args: streams held open, client lanes, server threads. Each stream gets a token every 100 ms
// for 5 s; the benchmark ends at 6 s. Sustained means every stream stayed open (peak = streams)
// without errors while tokens arrived at the scripted pace (tok_rate_vs_script near 1, ITL near
// 100 ms).
void BM_MaxStreams(benchmark::State& state) {
  const int64_t streams = state.range(0);
  constexpr double kItl = 0.1;
  Rig rig(0.0, kItl, static_cast<int>(state.range(2)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    ConversationSource source(conversations(0, 1, 50), static_cast<size_t>(2 * streams));
    if (!source.prefill(static_cast<size_t>(streams)).is_ok()) return;
    Strategy s;
    s.type = StrategyType::kConcurrent;
    s.streams = streams;
    const double server_cpu = rig.server->cpu_seconds();
    auto run = run_benchmark(*rig.client, source, s, {6.0, std::nullopt, std::nullopt},
                             RunOptions{{}, 0, 0, 42}, nullptr);
    if (!run) {
      state.SkipWithError(run.error().message().c_str());
      return;
    }
    report(state, *run, rig.server->cpu_seconds() - server_cpu);
    state.counters["tok_rate_vs_script"] =
        state.counters["out_tok_per_s"] / (static_cast<double>(streams) / kItl);
  }
}
BENCHMARK(BM_MaxStreams)
    ->ArgNames({"streams", "lanes", "server_threads"})
    ->Args({1000, 1, 1})
    ->Args({2000, 1, 1})
    ->Args({4000, 2, 2})
    ->Args({8000, 4, 4})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace kvtier::bench

BENCHMARK_MAIN();
