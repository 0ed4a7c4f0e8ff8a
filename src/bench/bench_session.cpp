#include "bench/bench_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "bench/conversation_source.h"
#include "bench/profile.h"
#include "bench/stream_client.h"
#include "bench/synthetic_dataset.h"
#include "common/paths.h"

namespace kvtier::bench {
namespace {

std::string make_run_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  Random rng(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
  return fmt::format("{:016x}", rng.next());
}

// One benchmark with freshly generated data (seeded by the benchmark's number).
Expected<BenchmarkRun> run_one(StreamClient& client, const BenchConfig& config,
                               const std::shared_ptr<const TokenCodec>& codec,
                               const BodyOptions& body, const RunLimits& limits,
                               const Strategy& strategy, size_t index, size_t planned,
                               const SessionHooks& hooks) {
  KVTIER_ASSIGN_OR_RETURN(auto dataset,
                          SyntheticDataset::create(config.data, codec, config.random_seed,
                                                   static_cast<int64_t>(index) + 1));
  const int64_t slots = strategy.in_flight_limit().value_or(256);
  const auto lookahead = static_cast<size_t>(std::clamp<int64_t>(2 * slots, 64, 4096));
  auto* data = dataset.get();
  ConversationSource source([data] { return data->next(); }, lookahead);
  KVTIER_RETURN_IF_ERROR(source.prefill(static_cast<size_t>(std::min<int64_t>(slots, 1024))));

  RunOptions options;
  options.body = body;
  options.benchmark_index = static_cast<int64_t>(index);
  options.sample_requests = config.sample_requests;
  options.seed = static_cast<uint64_t>(config.random_seed);
  options.interrupt = hooks.interrupt;
  ProgressFn progress;
  if (hooks.on_progress) {
    progress = [&](const ProgressSnapshot& s) { hooks.on_progress(index, planned, strategy, s); };
  }
  return run_benchmark(client, source, strategy, limits, options, progress);
}

}  // namespace

Expected<ServerInfo> probe_server(const BenchConfig& config) {
  const double timeout = config.http.connect_timeout_s + 10.0;
  ServerInfo info;
  info.model = config.model;
  if (config.validate_backend) {
    auto health = http_request(config.target, config.http, "GET", "/health", "", timeout);
    if (!health) {
      return make_error(ErrorCode::kUnavailable, "--target {}: server not reachable ({})",
                        config.target_url, health.error().message());
    }
    if (health->status != 200) {
      auto models = http_request(config.target, config.http, "GET", "/v1/models", "", timeout);
      if (!models || models->status != 200) {
        return make_error(ErrorCode::kUnavailable,
                          "--target {}: server not healthy (GET /health answered HTTP {})",
                          config.target_url, health->status);
      }
    }
  }
  auto models = http_request(config.target, config.http, "GET", "/v1/models", "", timeout);
  if (!models) {
    return make_error(ErrorCode::kUnavailable, "--target {}: server not reachable ({})",
                      config.target_url, models.error().message());
  }
  if (models->status != 200) {
    if (!info.model.empty()) return info;  // the model is known; the list is only a convenience
    return make_error(ErrorCode::kUnavailable,
                      "--target {}: GET /v1/models answered HTTP {}; pass --model",
                      config.target_url, models->status);
  }
  auto list = nlohmann::json::parse(models->body, nullptr, /*allow_exceptions=*/false);
  const bool has_data =
      !list.is_discarded() && list.is_object() && list.contains("data") && list["data"].is_array();
  if (!has_data) {
    if (!info.model.empty()) return info;
    return make_error(ErrorCode::kUnavailable,
                      "--target {}: GET /v1/models returned no model list; pass --model",
                      config.target_url);
  }
  for (const auto& m : list["data"]) {
    if (!m.is_object() || !m.contains("id") || !m["id"].is_string()) continue;
    const std::string id = m["id"].get<std::string>();
    if (info.model.empty()) info.model = id;
    if (id == info.model) {
      if (m.contains("root") && m["root"].is_string())
        info.model_root = m["root"].get<std::string>();
      break;
    }
  }
  if (info.model.empty()) {
    return make_error(ErrorCode::kUnavailable,
                      "--target {}: the server lists no model; pass --model", config.target_url);
  }
  return info;
}

ProcessorChoice choose_processor_with_source(const BenchConfig& config, const ServerInfo& server) {
  if (!config.processor.empty()) return {config.processor, "--processor"};
  for (const std::string& candidate : {server.model_root, server.model}) {
    if (candidate.empty()) continue;
    std::error_code ec;
    if (std::filesystem::is_regular_file(std::filesystem::path(candidate) / "tokenizer.json", ec)) {
      return {candidate, "the served model's folder"};
    }
  }
  return {default_tokenizer_dir(),
          fmt::format("the bundled Qwen3 tokenizer: the served model '{}' is not a local folder "
                      "with tokenizer.json; pass --processor DIR for its own",
                      server.model)};
}

std::filesystem::path choose_processor(const BenchConfig& config, const ServerInfo& server) {
  return choose_processor_with_source(config, server).dir;
}

Expected<BenchReport> run_bench(const BenchConfig& config, const ServerInfo& server,
                                std::shared_ptr<const TokenCodec> codec,
                                const std::string& processor, const SessionHooks& hooks) {
  KVTIER_ASSIGN_OR_RETURN(auto client,
                          StreamClient::create(config.target, config.http, config.io_threads));
  BenchReport report;
  report.config = config;
  // The file's args name what the run used, so runs against different models never compare.
  report.config.model = server.model;
  report.config.processor = processor;
  report.run_id = make_run_id();
  report.model = server.model;
  report.processor = processor;
  Profile profile(config);

  BodyOptions body;
  body.format = config.request_format;
  body.model = server.model;
  body.stream = config.stream;
  body.extra_body = config.extra_body;
  const RunLimits limits{config.max_seconds, config.max_requests, config.max_errors,
                         config.max_error_rate};

  std::vector<double> measured;
  std::vector<Strategy> completed;
  auto publish = [&]() -> Status {
    report.profile = profile.to_json(completed);
    return hooks.on_report ? hooks.on_report(report) : Status::ok();
  };
  // Once outputs were written, they are rewritten once more to say the run failed.
  auto fail = [&](Status error) -> Status {
    if (!report.benchmarks.empty()) {
      report.state = RunState::kFailed;
      report.error = error.to_string();
      (void)publish();  // the error that stopped the run is the one to report
    }
    return error;
  };
  auto interrupted = [&](int sig, std::optional<BenchmarkResult> partial) -> Expected<BenchReport> {
    report.state = RunState::kInterrupted;
    report.interrupted_by = sig;
    report.interrupted = std::move(partial);
    KVTIER_RETURN_IF_ERROR(publish());
    return std::move(report);
  };

  auto next = profile.next(measured);
  for (;;) {
    if (!next) return fail(next.error());
    report.planned = std::max(profile.planned(), measured.size());
    if (!*next) {  // a profile with nothing to run
      report.state = RunState::kFinished;
      KVTIER_RETURN_IF_ERROR(publish());
      return report;
    }
    if (const int sig = hooks.interrupt ? hooks.interrupt->load() : 0) {
      return interrupted(sig, std::nullopt);  // between benchmarks: none was cut
    }
    const Strategy strategy = **next;
    const size_t index = measured.size();
    if (hooks.on_start) hooks.on_start(index, report.planned, strategy);

    auto run =
        run_one(*client, config, codec, body, limits, strategy, index, report.planned, hooks);
    if (!run) return fail(run.error());
    if (run->interrupted_by != 0) {
      const int sig = run->interrupted_by;
      return interrupted(sig, make_result(static_cast<int64_t>(index), std::move(*run), config));
    }
    if (run->all_failed) {
      return fail(make_error(ErrorCode::kUnavailable,
                             "benchmark {} ({}): the first {} requests all failed, last with: {}",
                             index + 1, strategy.label(), kFailFastRequests, *run->all_failed));
    }
    auto result = make_result(static_cast<int64_t>(index), std::move(*run), config);
    measured.push_back(result.metrics.requests_per_second.successful.mean);
    completed.push_back(strategy);
    report.benchmarks.push_back(std::move(result));
    // The next strategy is known before writing, so the last level's file already says
    // "finished" and no level is written twice.
    next = profile.next(measured);
    const bool last = next && !*next;
    if (last) report.state = RunState::kFinished;
    report.planned = std::max(profile.planned(), measured.size());
    KVTIER_RETURN_IF_ERROR(publish());
    if (last) return report;
  }
}

Expected<BenchReport> run_bench(const BenchConfig& config, const SessionHooks& hooks) {
  KVTIER_ASSIGN_OR_RETURN(auto server, probe_server(config));
  const auto choice = choose_processor_with_source(config, server);
  const auto& processor = choice.dir;
  auto codec = load_token_codec(processor);
  if (!codec) {
    return Status(codec.error().code(), fmt::format("--processor {}: cannot load the tokenizer: {}",
                                                    processor.string(), codec.error().message()));
  }
  if (hooks.on_tokenizer) hooks.on_tokenizer(choice);
  return run_bench(config, server, std::move(codec).value(), processor.string(), hooks);
}

}  // namespace kvtier::bench
