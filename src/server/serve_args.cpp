#include "server/serve_args.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/paths.h"
#include "engine/scheduling_policy.h"
#include "kv/block_hasher.h"
#include "kv/hash_algo.h"
#include "model/load_format.h"
#include "server/arg_prefix.h"
#include "server/config_file.h"
#include "server/dotted_args.h"

namespace kvtier::server {
namespace {

// The options that take a JSON object, and so vLLM's dotted keys.
const std::set<std::string> kJsonOptions = {"--kv-transfer-config", "--kv-events-config"};

struct RawFlags {
  std::string model_positional;
  std::string model_option;
  std::string host = "0.0.0.0";
  int port = 8000;
  std::vector<std::string> served_model_names;
  std::string tokenizer;
  int32_t max_num_seqs = 0;
  int32_t max_num_batched_tokens = 0;
  int32_t max_model_len = 0;
  int32_t block_size = 16;
  double gpu_memory_utilization = 0.9;
  std::optional<int32_t> num_gpu_blocks_override;
  bool enable_prefix_caching = true;
  std::string prefix_caching_hash_algo{kv::kDefaultHashAlgoName};
  bool enable_chunked_prefill = true;
  std::string scheduling_policy = "fcfs";
  std::string kv_transfer_config;
  std::string kv_events_config;
  std::optional<double> kv_offloading_size;
  std::string kv_offloading_backend;
  int tensor_parallel_size = 1;
  std::string device = "auto";
  std::string dtype = "auto";
  std::string load_format = "auto";
  int64_t seed = 0;
  std::string api_key;
  bool enable_prompt_tokens_details = false;
  bool disable_log_requests = false;
  bool enable_log_requests = false;
  bool disable_log_stats = false;
  std::string uvicorn_log_level = "info";
  int32_t max_log_len = 0;
  bool trust_remote_code = false;
  std::string generation_config = "auto";
  std::optional<int64_t> kv_cache_memory_bytes;
  double swap_space = 4;
  int num_threads = 0;
  int32_t max_logprobs = 20;
  double shutdown_timeout = 30.0;
  int http_threads = 2;
  int tokenizer_threads = 2;
  std::string log_level;
  std::string chat_template;
  bool trust_request_chat_template = false;
  bool enforce_eager = false;
  bool enable_server_load_tracking = false;
  std::string config;  // taken out before parsing (apply_config_file); here for --help
};

void add_flags(CLI::App& app, RawFlags& f) {
  app.add_option("model", f.model_positional, "Model folder (Hugging Face layout)");
  app.add_option("--model", f.model_option, "Model folder (instead of the positional argument)");
  app.add_option("--host", f.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", f.port, "Port to listen on")->capture_default_str()->check(
      CLI::Range(0, 65535));
  app.add_option("--served-model-name", f.served_model_names,
                 "Model name(s) the API answers to; the first is reported (default: MODEL)");
  app.add_option("--tokenizer", f.tokenizer, "Tokenizer folder (default: the model folder)");
  app.add_option("--max-num-seqs", f.max_num_seqs,
                 "Most sequences per step (default: 1024 on >= 70 GiB GPUs, else 256)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-num-batched-tokens", f.max_num_batched_tokens,
                 "Token budget per step (default: 8192 on >= 70 GiB GPUs, else 2048)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-model-len", f.max_model_len, "Context length (default: the model's)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--block-size", f.block_size, "Tokens per KV block")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--gpu-memory-utilization", f.gpu_memory_utilization,
                 "Fraction of GPU memory for weights and KV cache")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--num-gpu-blocks-override", f.num_gpu_blocks_override,
                 "Number of KV blocks, overriding the memory-based size");
  app.add_flag("--enable-prefix-caching,!--no-enable-prefix-caching", f.enable_prefix_caching,
               "Prefix caching (default on)");
  app.add_option("--prefix-caching-hash-algo", f.prefix_caching_hash_algo,
                 "Block hash: " + kv::hash_algo_choices() +
                     " (sha256_cbor as vLLM >= 0.11, seeded by PYTHONHASHSEED)")
      ->capture_default_str();
  app.add_flag("--enable-chunked-prefill,!--no-enable-chunked-prefill", f.enable_chunked_prefill,
               "Chunked prefill (default on)");
  app.add_option("--scheduling-policy", f.scheduling_policy,
                 "fcfs: in arrival order; priority: by each request's priority (lower first), "
                 "then arrival, and a full KV cache preempts the lowest priority")
      ->capture_default_str()
      ->check(CLI::IsMember({"fcfs", "priority"}));
  app.add_option("--kv-transfer-config", f.kv_transfer_config,
                 "KV connector JSON, e.g. "
                 "'{\"kv_connector\":\"OffloadingConnector\",\"kv_role\":\"kv_both\","
                 "\"kv_connector_extra_config\":{\"num_cpu_blocks\":10000}}' (one key: "
                 "--kv-transfer-config.KEY VALUE)");
  app.add_option("--kv-events-config", f.kv_events_config,
                 "KV events JSON, e.g. '{\"enable_kv_cache_events\":true,\"publisher\":\"zmq\"}' "
                 "(one key: --kv-events-config.KEY VALUE)");
  app.add_option("--kv-offloading-size", f.kv_offloading_size,
                 "CPU KV offload tier size in GiB")
      ->check(CLI::PositiveNumber);
  app.add_option("--kv-offloading-backend", f.kv_offloading_backend,
                 "Offload backend (native)");
  app.add_option("--tensor-parallel-size", f.tensor_parallel_size,
                 "Tensor parallel size (1 only; also -tp)")
      ->capture_default_str();
  app.add_option("--device", f.device, "cpu, cuda or auto")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--dtype", f.dtype, "Weight and activation dtype")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "half", "float16", "bfloat16", "float", "float32"}));
  app.add_option("--load-format", f.load_format,
                 "auto or safetensors: the checkpoint's weights; dummy: random weights made at "
                 "load (MODEL may then be a preset: tiny, qwen3-0.6b, qwen3-8b, qwen3-14b)")
      ->capture_default_str();
  app.add_option("--seed", f.seed, "Random seed (also of dummy weights)")->capture_default_str();
  app.add_option("--api-key", f.api_key, "Require this key on /v1 routes (also $VLLM_API_KEY)");
  app.add_flag("--enable-prompt-tokens-details", f.enable_prompt_tokens_details,
               "Report usage.prompt_tokens_details.cached_tokens");
  app.add_flag("--disable-log-requests", f.disable_log_requests, "Do not log requests");
  app.add_flag("--enable-log-requests", f.enable_log_requests, "Log each request");
  app.add_flag("--disable-log-stats", f.disable_log_stats, "Do not log engine stats");
  app.add_option("--uvicorn-log-level", f.uvicorn_log_level, "Accepted for compatibility")
      ->check(CLI::IsMember({"critical", "error", "warning", "info", "debug", "trace"}));
  app.add_option("--max-log-len", f.max_log_len, "Characters of a prompt to log (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--trust-remote-code", f.trust_remote_code, "Accepted; no remote code is run");
  app.add_option("--generation-config", f.generation_config,
                 "auto: defaults from the model's generation_config.json; vllm: none")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "vllm"}));
  app.add_option("--kv-cache-memory-bytes", f.kv_cache_memory_bytes,
                 "KV cache size in bytes for the CPU backend (also $VLLM_CPU_KVCACHE_SPACE, GiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--swap-space", f.swap_space, "Accepted for compatibility");
  app.add_option("--max-logprobs", f.max_logprobs,
                 "Most logprobs a request may ask for (logprobs / top_logprobs)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--num-threads", f.num_threads, "CPU backend threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--shutdown-timeout", f.shutdown_timeout,
                 "Seconds to finish accepted requests after SIGTERM/SIGINT")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--http-threads", f.http_threads, "HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--tokenizer-threads", f.tokenizer_threads,
                 "Threads that parse and tokenize requests")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", f.log_level, "trace, debug, info, warn, error");
  app.add_option("--chat-template", f.chat_template,
                 "Chat template: a Jinja file, or the template itself (replaces the tokenizer's)");
  app.add_flag("--trust-request-chat-template", f.trust_request_chat_template,
               "Let chat requests bring their own chat_template (refused without this flag)");
  app.add_flag("--enforce-eager", f.enforce_eager,
               "CUDA: run every step eagerly (no CUDA graph capture and replay)");
  app.add_flag("--enable-server-load-tracking", f.enable_server_load_tracking,
               "Count requests in flight for GET /load (without it /load reports 0, as vLLM)");
  app.add_option("--config", f.config,
                 "YAML file of flags (name: value); flags on the command line win");
}

// Every long option as --config reads it.
std::vector<ConfigOption> config_options(const CLI::App& app) {
  std::vector<ConfigOption> out;
  for (const CLI::Option* option : app.get_options()) {
    const std::vector<std::string>& names = option->get_lnames();
    if (names.empty() || names.front() == "help") continue;
    const std::string canonical = "--" + names.front();
    for (const std::string& name : names) {
      ConfigOption o;
      o.name = "--" + name;
      o.canonical = canonical;
      if (option->get_expected_max() == 0) {
        o.kind = ConfigOption::Kind::kFlag;
        const auto& fnames = option->get_fnames();
        if (std::find(fnames.begin(), fnames.end(), "no-" + name) != fnames.end()) {
          o.negation = "--no-" + name;
        }
      } else if (kJsonOptions.contains(o.name)) {
        o.kind = ConfigOption::Kind::kJson;
      } else if (option->get_items_expected_max() > 1) {
        o.kind = ConfigOption::Kind::kList;
      }
      out.push_back(std::move(o));
    }
  }
  return out;
}

std::vector<std::string> long_option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_fnames()) {
      if (name.starts_with("no-")) names.push_back("--" + name);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Status check_json_flag(const std::string& flag, const std::string& value) {
  if (value.empty()) return Status::ok();
  auto parsed = nlohmann::json::parse(value, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return invalid_argument("{} must be a JSON object, got: {}", flag, value);
  }
  return Status::ok();
}

Expected<ServeOptions> build_options(const RawFlags& f) {
  ServeOptions o;
  std::string model = !f.model_option.empty() ? f.model_option : f.model_positional;
  if (model.empty()) return invalid_argument("MODEL is required: kvtier serve MODEL_DIR [flags]");
  if (!f.model_option.empty() && !f.model_positional.empty() &&
      f.model_option != f.model_positional) {
    return invalid_argument("the model is given twice: {} and --model {}", f.model_positional,
                            f.model_option);
  }
  if (f.tensor_parallel_size != 1) {
    return make_error(ErrorCode::kUnimplemented,
                      "--tensor-parallel-size {} is not supported yet: only 1",
                      f.tensor_parallel_size);
  }
  KVTIER_RETURN_IF_ERROR(check_json_flag("--kv-transfer-config", f.kv_transfer_config));
  KVTIER_RETURN_IF_ERROR(check_json_flag("--kv-events-config", f.kv_events_config));
  if (!f.chat_template.empty()) {
    KVTIER_ASSIGN_OR_RETURN(o.chat_template, load_chat_template_flag(f.chat_template));
  }

  KVTIER_ASSIGN_OR_RETURN(const model::LoadFormat load_format,
                          model::parse_load_format(f.load_format));
  engine::EngineConfig& e = o.engine;
  e.model_dir = model;
  e.load_format = f.load_format;
  e.tokenizer_dir = f.tokenizer;
  // A preset has no folder: the bundled Qwen3 tokenizer stands in for the model's.
  if (e.tokenizer_dir.empty() && model::is_preset_model(model, load_format)) {
    e.tokenizer_dir = default_tokenizer_dir();
  }
  e.served_model_name = f.served_model_names.empty() ? model : f.served_model_names.front();
  e.device = f.device;
  e.dtype = f.dtype;
  e.seed = uint64_t(f.seed);
  e.block_size = f.block_size;
  if (f.max_num_seqs > 0) e.max_num_seqs = f.max_num_seqs;
  if (f.max_num_batched_tokens > 0) e.max_num_batched_tokens = f.max_num_batched_tokens;
  o.max_num_seqs_set = f.max_num_seqs > 0;
  o.max_num_batched_tokens_set = f.max_num_batched_tokens > 0;
  e.max_model_len = f.max_model_len;
  e.enable_prefix_caching = f.enable_prefix_caching;
  KVTIER_ASSIGN_OR_RETURN(const kv::HashAlgo hash_algo,
                          kv::parse_hash_algo(f.prefix_caching_hash_algo));
  e.block_hasher = kv::BlockHasher::from_environment(hash_algo);
  e.enable_chunked_prefill = f.enable_chunked_prefill;
  const auto policy = engine::parse_scheduling_policy(f.scheduling_policy);
  if (!policy) {
    return invalid_argument("--scheduling-policy must be fcfs or priority, got {}",
                            f.scheduling_policy);
  }
  e.scheduling_policy = *policy;
  e.gpu_memory_utilization = f.gpu_memory_utilization;
  e.num_gpu_blocks_override = f.num_gpu_blocks_override;
  if (f.kv_cache_memory_bytes) {
    e.cpu_kv_cache_bytes = *f.kv_cache_memory_bytes;
  } else if (const char* space = std::getenv("VLLM_CPU_KVCACHE_SPACE"); space && *space) {
    char* end = nullptr;
    double gib = std::strtod(space, &end);
    if (end == space || *end != '\0' || !(gib > 0)) {
      return invalid_argument("VLLM_CPU_KVCACHE_SPACE must be a positive number of GiB, got '{}'",
                              space);
    }
    e.cpu_kv_cache_bytes = int64_t(gib * double(1LL << 30));
  }
  e.kv_transfer_config = f.kv_transfer_config;
  e.kv_events_config = f.kv_events_config;
  e.kv_offloading_size_gib = f.kv_offloading_size;
  e.kv_offloading_backend = f.kv_offloading_backend;
  e.num_threads = f.num_threads;
  e.enforce_eager = f.enforce_eager;
  e.max_logprobs = f.max_logprobs;
  o.api.sampling_defaults.max_logprobs = f.max_logprobs;

  o.http.host = f.host;
  o.http.port = uint16_t(f.port);
  o.http.io_threads = f.http_threads;

  ApiConfig& a = o.api;
  a.served_model_names =
      f.served_model_names.empty() ? std::vector<std::string>{model} : f.served_model_names;
  a.model_root = model;
  a.api_key = f.api_key;
  if (a.api_key.empty()) {
    if (const char* key = std::getenv("VLLM_API_KEY")) a.api_key = key;
  }
  a.enable_prompt_tokens_details = f.enable_prompt_tokens_details;
  a.log_requests = f.enable_log_requests && !f.disable_log_requests;
  a.max_log_len = f.max_log_len;
  a.enable_server_load_tracking = f.enable_server_load_tracking;
  a.trust_request_chat_template = f.trust_request_chat_template;

  o.tokenizer_threads = f.tokenizer_threads;
  o.shutdown_timeout_s = f.shutdown_timeout;
  o.log_stats = !f.disable_log_stats;
  o.generation_config = f.generation_config;
  o.log_level = f.log_level;
  return o;
}

}  // namespace

void apply_device_defaults(ServeOptions& options, double device_memory_gib) {
  bool big = options.engine.device == "cuda" && device_memory_gib >= 70.0;
  if (!options.max_num_seqs_set) options.engine.max_num_seqs = big ? 1024 : 256;
  if (!options.max_num_batched_tokens_set) {
    options.engine.max_num_batched_tokens = big ? 8192 : 2048;
  }
}

ServeArgs parse_serve_args(const std::vector<std::string>& args) {
  CLI::App app{"Serve a model with an OpenAI-compatible API (vLLM's `vllm serve` flags)",
               "kvtier serve"};
  RawFlags flags;
  add_flags(app, flags);
  ServeArgs result;
  // vLLM's two-letter short form, which CLI11 cannot declare.
  std::vector<std::string> spelled = args;
  for (std::string& arg : spelled) {
    if (arg == "-tp") arg = "--tensor-parallel-size";
    if (arg.starts_with("-tp=")) arg = "--tensor-parallel-size" + arg.substr(3);
  }
  auto usage_error = [&](const Status& status) {
    result.exit_code = 2;
    result.message = "kvtier serve: " + status.message();
    return result;
  };
  // Dotted keys first: the prefix expansion would take "--kv-transfer-config.x" for a name.
  auto dotted = extract_dotted_args(spelled, kJsonOptions);
  if (!dotted) return usage_error(dotted.error());
  auto expanded = expand_option_prefixes(dotted->rest, long_option_names(app));
  if (!expanded) return usage_error(expanded.error());
  auto configured = apply_config_file(*expanded, config_options(app));
  if (!configured) return usage_error(configured.error());
  std::vector<std::string> reversed(configured->args.rbegin(), configured->args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    result.exit_code = 0;
    result.message = app.help();
    return result;
  } catch (const CLI::ParseError& e) {
    result.exit_code = 2;
    result.message = std::string("kvtier serve: ") + e.what();
    return result;
  }
  // A model named on the command line wins over the file's `model:`.
  const auto& from_file = configured->from_file;
  if (!flags.model_positional.empty() &&
      std::find(from_file.begin(), from_file.end(), "--model") != from_file.end()) {
    flags.model_option.clear();
  }
  for (const auto& [option, keys] : dotted->objects) {
    std::string& text =
        option == "--kv-transfer-config" ? flags.kv_transfer_config : flags.kv_events_config;
    auto merged = merge_json_option(option, text, keys);
    if (!merged) return usage_error(merged.error());
    text = std::move(*merged);
  }
  auto options = build_options(flags);
  if (!options) return usage_error(options.error());
  result.options = std::move(*options);
  return result;
}

}  // namespace kvtier::server
