#pragma once
// `kvtier serve MODEL_DIR [flags]`: vLLM's `vllm serve` flags (where they exist), with argparse's
// prefix matching, parsed into the engine, HTTP and API settings.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "server/api.h"
#include "server/chat_template_flag.h"
#include "server/http_server.h"

namespace kvtier::server {

struct ServeOptions {
  engine::EngineConfig engine;
  HttpServerConfig http;
  ApiConfig api;
  int tokenizer_threads = 2;
  size_t max_queued_requests = 4096;   // waiting for tokenization; beyond: 503
  double shutdown_timeout_s = 30.0;
  bool log_stats = true;
  std::string generation_config = "auto";
  std::string log_level;               // empty: leave as set by the global --log-level
  bool max_num_seqs_set = false;       // else the device's default applies
  bool max_num_batched_tokens_set = false;
  std::optional<ChatTemplateFlag> chat_template;  // --chat-template, read and parsed
};

struct ServeArgs {
  std::optional<ServeOptions> options;  // empty: print `message` and exit with `exit_code`
  int exit_code = 0;
  std::string message;
};

// args: everything after `serve`. Reads VLLM_API_KEY when --api-key is absent and
// VLLM_CPU_KVCACHE_SPACE (GiB) for the CPU backend's KV pool when --kv-cache-memory-bytes is.
// Takes vLLM's --config FILE.yaml (config_file.h), its dotted JSON keys (dotted_args.h) and
// --chat-template (read and parsed here, so a bad one is a usage error before anything loads).
ServeArgs parse_serve_args(const std::vector<std::string>& args);

// vLLM's defaults for the scheduler budgets: 1024 sequences and 8192 batched tokens on GPUs with
// at least 70 GiB, else 256 and 2048 (CPU included). Fills what the flags left unset.
void apply_device_defaults(ServeOptions& options, double device_memory_gib);

}  // namespace kvtier::server
