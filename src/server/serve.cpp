#include "server/serve.h"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <new>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "kv/block_hasher.h"
#include "model/checkpoint.h"
#include "server/api.h"
#include "server/api_request.h"
#include "server/device_choice.h"
#include "server/dtype_choice.h"
#include "server/http_server.h"
#include "server/serve_args.h"
#include "server/task_pool.h"
#include "server/text_codec.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::server {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// SIGINT and SIGTERM are blocked in every thread and taken synchronously by the main thread.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// The signal that arrived within `wait`, or 0.
int wait_for_signal(const sigset_t& set, milliseconds wait) {
  timespec ts{};
  ts.tv_sec = wait.count() / 1000;
  ts.tv_nsec = long(wait.count() % 1000) * 1'000'000L;
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

const char* python_bool(bool b) { return b ? "True" : "False"; }

Labels cache_config_labels(const ServeOptions& o, const engine::EngineInfo& info) {
  const kv::BlockHasher& hasher =
      o.engine.block_hasher ? *o.engine.block_hasher : *kv::BlockHasher::default_hasher();
  return {{"block_size", std::to_string(info.block_size)},
          {"cache_dtype", "auto"},
          {"enable_prefix_caching", python_bool(info.enable_prefix_caching)},
          {"gpu_memory_utilization", fmt::format("{}", o.engine.gpu_memory_utilization)},
          {"num_cpu_blocks", info.num_cpu_blocks > 0 ? std::to_string(info.num_cpu_blocks)
                                                     : std::string("None")},
          {"num_gpu_blocks", std::to_string(info.num_gpu_blocks)},
          {"num_gpu_blocks_override", o.engine.num_gpu_blocks_override
                                          ? std::to_string(*o.engine.num_gpu_blocks_override)
                                          : std::string("None")},
          {"prefix_caching_hash_algo", std::string(kv::hash_algo_name(hasher.algo()))},
          // kvtier's own: names the algorithm and hash seed without the seed, so a router can
          // warn when its keys could never match this engine's.
          {"prefix_caching_hash_fingerprint", fmt::format("{:016x}", hasher.fingerprint())}};
}

// vLLM's periodic log line, from the difference between two stats snapshots.
class StatsLogger {
 public:
  void log(const engine::EngineStats& s) {
    auto now = SteadyClock::now();
    double dt = std::chrono::duration<double>(now - last_time_).count();
    if (dt <= 0) return;
    double prompt = double(s.prompt_tokens - last_.prompt_tokens) / dt;
    double generation = double(s.generation_tokens - last_.generation_tokens) / dt;
    uint64_t queries = s.prefix_cache_queries - last_.prefix_cache_queries;
    uint64_t hits = s.prefix_cache_hits - last_.prefix_cache_hits;
    bool idle = prompt == 0 && generation == 0 && last_prompt_ == 0 && last_generation_ == 0;
    auto level = idle ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level,
                "Avg prompt throughput: {:.1f} tokens/s, Avg generation throughput: {:.1f} "
                "tokens/s, Running: {} reqs, Waiting: {} reqs, GPU KV cache usage: {:.1f}%, "
                "CPU KV cache usage: {:.1f}%, Prefix cache hit rate: {:.1f}%",
                prompt, generation, s.num_requests_running, s.num_requests_waiting,
                s.kv_cache_usage * 100, s.cpu_cache_usage * 100,
                queries ? 100.0 * double(hits) / double(queries) : 0.0);
    last_prompt_ = prompt;
    last_generation_ = generation;
    last_ = s;
    last_time_ = now;
  }

 private:
  engine::EngineStats last_;
  SteadyClock::time_point last_time_ = SteadyClock::now();
  double last_prompt_ = 0, last_generation_ = 0;
};

Expected<std::shared_ptr<const TextCodec>> load_codec(
    const std::filesystem::path& dir, const std::optional<ChatTemplateFlag>& chat_template) {
  std::error_code ec;
  if (!std::filesystem::exists(dir / "tokenizer.json", ec)) {
    if (chat_template) {
      return invalid_argument("{} has no tokenizer.json: {} needs a tokenizer to render chats",
                              dir.string(), chat_template->source);
    }
    spdlog::warn("{} has no tokenizer.json: only token-id prompts will be served",
                 dir.string());
    return std::shared_ptr<const TextCodec>();
  }
  auto tokenizer = chat_template ? load_tokenizer_with_template(dir, *chat_template)
                                 : tokenizer::Tokenizer::load(dir);
  if (!tokenizer) return tokenizer.error();
  return make_tokenizer_codec(std::move(*tokenizer));
}

// Runs `load` and turns std::bad_alloc into an error naming what was being loaded.
template <typename Load>
auto guard_allocation(Load load, const std::string& what) -> decltype(load()) {
  try {
    return load();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kResourceExhausted,
                      "out of memory loading {}: an input is too large for this machine", what);
  }
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  ServeArgs parsed = parse_serve_args(args);
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    std::fputc('\n', parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  ServeOptions options = std::move(*parsed.options);
  if (!options.log_level.empty()) spdlog::set_level(spdlog::level::from_str(options.log_level));

  auto device = resolve_device(options.engine.device);
  if (!device) {
    spdlog::error("{}", device.error().message());
    return 2;
  }
  options.engine.device = device->device;
  if (Status s = check_dtype(options.engine.dtype, device->device); !s.is_ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (options.engine.enforce_eager && device->device == "cpu") {
    spdlog::info("--enforce-eager: the CPU backend always runs eagerly (it has no CUDA graphs)");
  }
  apply_device_defaults(options, device->memory_gib);
  // A FIFO in the model or tokenizer folder would block its reader forever while /health
  // answers 503 "starting": refuse it before anything is opened.
  for (const auto& dir : {options.engine.model_dir, options.engine.tokenizer_dir}) {
    if (dir.empty()) continue;
    if (Status s = model::check_model_folder_files(dir); !s.is_ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  }
  if (Status s = check_model_token_ids(options.engine.model_dir); !s.is_ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  if (options.generation_config == "auto") {
    auto defaults = read_generation_config(options.engine.model_dir);
    if (!defaults) {
      spdlog::error("{}", defaults.error().message());
      return 1;
    }
    defaults->max_logprobs = options.engine.max_logprobs;
    options.api.sampling_defaults = *defaults;
  }
  std::filesystem::path tokenizer_dir = options.engine.tokenizer_dir.empty()
                                            ? options.engine.model_dir
                                            : options.engine.tokenizer_dir;

  // Before any thread starts, so that every thread inherits the blocked mask.
  sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = HttpServer::start(options.http, starting_handler());
  if (!server) {
    spdlog::error("{}", server.error().message());
    return 1;
  }
  // The port is open so that /health can say "starting"; serving begins at "Application
  // startup complete" below.
  spdlog::info("kvtier serve {}: loading; http://{}:{} answers 503 until the model is loaded "
               "(device {}, max_num_seqs {}, max_num_batched_tokens {})",
               options.engine.model_dir.string(), options.http.host, (*server)->port(),
               options.engine.device, options.engine.max_num_seqs,
               options.engine.max_num_batched_tokens);

  // Sizes read from the model folder are checked before anything is allocated from them; an
  // allocation that still fails is an error naming the folder, not an abort.
  auto codec = guard_allocation(
      [&] { return load_codec(tokenizer_dir, options.chat_template); },
      fmt::format("the tokenizer files in {}", tokenizer_dir.string()));
  if (!codec) {
    spdlog::error("loading the tokenizer from {}: {}", tokenizer_dir.string(),
                  codec.error().message());
    (*server)->shutdown(milliseconds(0));
    return 1;
  }
  auto engine = guard_allocation(
      [&] { return engine::Engine::create(options.engine); },
      fmt::format("the model in {} (config.json sizes, weights) with --max-model-len and the KV "
                  "cache sizes asked for",
                  options.engine.model_dir.string()));
  if (!engine) {
    spdlog::error("starting the engine: {}", engine.error().message());
    (*server)->shutdown(milliseconds(0));
    return 1;
  }
  const engine::EngineInfo& info = (*engine)->info();
  options.api.cache_config = cache_config_labels(options, info);
  spdlog::info("engine ready: {} KV blocks of {} tokens on the {}, {} CPU-tier blocks, "
               "max_model_len {}",
               info.num_gpu_blocks, info.block_size, info.device, info.num_cpu_blocks,
               info.max_model_len);

  auto pool = std::make_unique<TaskPool>(options.tokenizer_threads, options.max_queued_requests);
  auto api = std::make_unique<Api>(
      **engine, *codec, options.api,
      [p = pool.get()](std::function<void()> task) { return p->try_submit(std::move(task)); });
  HttpServer* http = server->get();
  api->set_connection_counter([http] { return http->connections(); });
  (*server)->set_handler([a = api.get()](HttpRequest request, std::shared_ptr<Responder> r) {
    a->handle(std::move(request), std::move(r));
  });
  spdlog::info("Application startup complete: serving {} on http://{}:{}", api->model_name(),
               options.http.host, (*server)->port());

  StatsLogger stats;
  int sig = 0;
  auto next_log = SteadyClock::now() + std::chrono::seconds(10);
  while ((sig = wait_for_signal(signals, milliseconds(500))) == 0) {
    if (options.log_stats && SteadyClock::now() >= next_log) {
      stats.log((*engine)->stats());
      next_log += std::chrono::seconds(10);
    }
  }

  // Graceful shutdown: refuse new work, let accepted requests finish, then stop.
  spdlog::info("{} received: shutting down; finishing {} accepted requests (up to {} s)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", api->in_flight(),
               options.shutdown_timeout_s);
  (*server)->stop_accepting();
  api->begin_drain();
  auto deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                           std::chrono::duration<double>(options.shutdown_timeout_s));
  bool forced = false;
  while (api->in_flight() > 0 && SteadyClock::now() < deadline) {
    if (wait_for_signal(signals, milliseconds(20)) != 0) {
      spdlog::warn("second signal: aborting the remaining requests");
      forced = true;
      break;
    }
  }
  if (api->in_flight() > 0) {
    spdlog::warn("{} requests did not finish {}; aborting them", api->in_flight(),
                 forced ? "before the second signal" : "within the shutdown timeout");
  }
  bool clean = (*engine)->shutdown(/*finish_accepted=*/false);
  // Aborted requests still owe their clients an error event and [DONE].
  auto flush_deadline = SteadyClock::now() + std::chrono::seconds(2);
  while (api->in_flight() > 0 && SteadyClock::now() < flush_deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  (*server)->shutdown(milliseconds(2000));
  pool->stop();
  engine->reset();
  server->reset();
  api.reset();
  spdlog::info("kvtier serve stopped{}", clean ? "" : " (some requests were aborted)");
  return 0;
}

}  // namespace kvtier::server
