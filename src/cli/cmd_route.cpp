// kvtier route: the llm-d endpoint picker and gateway in front of OpenAI-compatible endpoints.
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/paths.h"
#include "router/gateway.h"
#include "tokenizer/tokenizer.h"

namespace kvtier::cli {
namespace {

struct RouteArgs {
  std::string config;
  std::vector<std::string> endpoints;
  std::string host = "0.0.0.0";
  int port = 8000;
  std::string model;
  std::string tokenizer;
  bool no_tokenize = false;
  std::vector<std::string> served_model_names;
  int scrape_interval_ms = 50;
  int stale_after_ms = 2000;
  int health_interval_ms = 1000;
  int connect_timeout_ms = 2000;
  int upstream_timeout_s = 600;
  int shutdown_timeout_s = 30;
  int max_attempts = 3;
  int io_threads = 0;
  int tokenizer_threads = 2;
  size_t max_body_mb = 32;
  size_t max_connections = 4096;
  int header_timeout_s = 30;
  uint64_t seed = 0;
};

// The tokenizer that makes the router's block keys the engines': --tokenizer, else --model,
// else the bundled Qwen3 tokenizer. Null (with a warning) when none can be loaded.
Expected<std::shared_ptr<const tokenizer::Tokenizer>> load_tokenizer(const RouteArgs& args) {
  const bool explicit_dir = !args.tokenizer.empty() || !args.model.empty();
  const std::filesystem::path dir = !args.tokenizer.empty() ? std::filesystem::path(args.tokenizer)
                                    : !args.model.empty()   ? std::filesystem::path(args.model)
                                                            : default_tokenizer_dir();
  std::error_code ec;
  if (!std::filesystem::exists(dir / "tokenizer.json", ec)) {
    if (explicit_dir) {
      return not_found("{} has no tokenizer.json: the router cannot tokenize prompts like the "
                       "engines (use --tokenizer DIR, or --no-tokenize to route on load only)",
                       dir.string());
    }
    spdlog::warn("no tokenizer at {}: prefix scorers see no prompts", dir.string());
    return std::shared_ptr<const tokenizer::Tokenizer>();
  }
  auto tok = tokenizer::Tokenizer::load(dir);
  if (!tok) return tok.error();
  spdlog::info("route: tokenizing prompts with {}", dir.string());
  return *tok;
}

// Every stream holds two sockets (client and engine) plus an idle one kept for reuse: thousands
// of streams need more descriptors than the usual soft limit of 1024.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_route(const RouteArgs& args) {
  raise_descriptor_limit();
  router::GatewayOptions o;
  for (const auto& list : args.endpoints) {
    std::stringstream in(list);
    std::string url;
    while (std::getline(in, url, ',')) {
      if (url.empty()) continue;
      auto address = router::EndpointAddress::parse(url);
      if (!address) return fmt::print(stderr, "error: {}\n", address.error().message()), 2;
      o.endpoints.push_back(*address);
    }
  }
  if (!args.config.empty()) {
    auto config = router::load_picker_config(args.config);
    if (!config) return fmt::print(stderr, "error: {}\n", config.error().message()), 2;
    o.picker_config = *config;
  }
  if (!args.no_tokenize) {
    auto tok = load_tokenizer(args);
    if (!tok) return fmt::print(stderr, "error: {}\n", tok.error().message()), 2;
    if (*tok) o.prompt_reader = router::make_tokenizer_prompt_reader(*tok);
  }
  o.host = args.host;
  o.port = static_cast<uint16_t>(args.port);
  o.served_model_names = args.served_model_names;
  o.scrape_interval = std::chrono::milliseconds(args.scrape_interval_ms);
  o.stale_after = std::chrono::milliseconds(args.stale_after_ms);
  o.health_interval = std::chrono::milliseconds(args.health_interval_ms);
  o.connect_timeout = std::chrono::milliseconds(args.connect_timeout_ms);
  o.upstream_timeout = std::chrono::seconds(args.upstream_timeout_s);
  o.shutdown_timeout = std::chrono::seconds(args.shutdown_timeout_s);
  o.max_attempts = args.max_attempts;
  o.io_threads = args.io_threads;
  o.prompt_threads = args.tokenizer_threads;
  o.max_body_bytes = args.max_body_mb << 20;
  o.max_connections = args.max_connections;
  o.header_timeout = std::chrono::seconds(args.header_timeout_s);
  o.seed = args.seed;
  auto gateway = router::Gateway::create(std::move(o));
  if (!gateway) return fmt::print(stderr, "error: {}\n", gateway.error().message()), 2;
  (*gateway)->run();
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto args = std::make_shared<RouteArgs>();
  app.add_option("--config", args->config,
                 "llm-d EndpointPickerConfig YAML (default: queue-scorer 2, "
                 "kv-cache-utilization-scorer 2, prefix-cache-scorer 3, max-score-picker)");
  app.add_option("--endpoint", args->endpoints,
                 "An engine's base URL, http://HOST:PORT; repeat the flag or separate with commas")
      ->required();
  app.add_option("--host", args->host, "Address to listen on")->capture_default_str();
  app.add_option("--port", args->port, "Port to listen on")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--model", args->model, "Model folder whose tokenizer the engines use");
  app.add_option("--tokenizer", args->tokenizer,
                 "Tokenizer folder (default: the model's, else the bundled Qwen3 tokenizer)");
  app.add_flag("--no-tokenize", args->no_tokenize,
               "Do not tokenize prompts: prefix scorers then score 0 everywhere");
  app.add_option("--served-model-name", args->served_model_names,
                 "Answer /v1/models with these names instead of asking an endpoint");
  app.add_option("--scrape-interval-ms", args->scrape_interval_ms,
                 "How often each endpoint's /metrics is read")
      ->check(CLI::Range(1, 60'000))
      ->capture_default_str();
  app.add_option("--stale-after-ms", args->stale_after_ms,
                 "An endpoint whose metrics are older than this is not used")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--health-interval-ms", args->health_interval_ms,
                 "How often a healthy endpoint's /health is checked")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--connect-timeout-ms", args->connect_timeout_ms,
                 "Connecting to an endpoint longer than this tries the next")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();
  app.add_option("--upstream-timeout-s", args->upstream_timeout_s,
                 "Longest wait for an endpoint's next bytes")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  app.add_option("--shutdown-timeout-s", args->shutdown_timeout_s,
                 "On SIGTERM/SIGINT, how long in-flight requests may finish")
      ->check(CLI::Range(0, 86'400))
      ->capture_default_str();
  app.add_option("--max-attempts", args->max_attempts,
                 "Endpoints tried per request when connections are refused")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--io-threads", args->io_threads, "I/O threads (0: one per core, at most 4)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--tokenizer-threads", args->tokenizer_threads,
                 "Threads that parse and tokenize request bodies")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-body-mb", args->max_body_mb, "Largest request body accepted (413 above)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--max-connections", args->max_connections,
                 "Client connections held at once; past it a new one gets 503 and is closed")
      ->check(CLI::Range(size_t(1), size_t(1) << 20))
      ->capture_default_str();
  app.add_option("--header-timeout-s", args->header_timeout_s,
                 "Seconds a client may take to send a request's header (408 after); an idle "
                 "kept-alive connection is closed after as long")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--seed", args->seed, "Seed for random tie-breaks (0: from the OS)");
  app.footer(
      "Each request is scored on every usable endpoint with the config's scorers (weighted sum "
      "of scores clamped to [0, 1]) and sent to the pick; a refused connection moves it to the "
      "next. The response streams back unchanged with header x-gateway-destination-endpoint. "
      "/health, /metrics (the router's own) and, with --served-model-name, /v1/models are "
      "answered by the router. `kvtier --log-level debug route ...` logs every request's scores.");
  return [args]() -> int { return run_route(*args); };
}

KVTIER_COMMAND("route", "Route OpenAI requests over engines as llm-d's endpoint picker does",
               setup);

}  // namespace
}  // namespace kvtier::cli
