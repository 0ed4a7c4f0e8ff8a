// Engine::create from an EngineConfig: the model, tokenizer, KV events and offload tier.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "kv/events/publisher.h"
#include "kv/offload/factory.h"

namespace kvtier::engine {
namespace {

// eos_token_id in generation_config.json: an id or a list of ids (Qwen3 lists two).
Status read_generation_eos(const std::filesystem::path& model_dir, std::vector<int32_t>& ids) {
  const auto path = model_dir / "generation_config.json";
  std::ifstream in(path);
  if (!in) return Status::ok();
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return data_loss("{} is not valid JSON", path.string());
  if (!j.is_object() || !j.contains("eos_token_id") || j["eos_token_id"].is_null()) {
    return Status::ok();
  }
  const auto& eos = j["eos_token_id"];
  auto take = [&](const nlohmann::json& v) -> Status {
    if (!v.is_number_integer()) {
      return invalid_argument("{}: eos_token_id must be an integer or a list of integers, got {}",
                              path.string(), v.dump());
    }
    ids.push_back(v.get<int32_t>());
    return Status::ok();
  };
  if (eos.is_array()) {
    for (const auto& v : eos) KVTIER_RETURN_IF_ERROR(take(v));
    return Status::ok();
  }
  return take(eos);
}

Expected<std::shared_ptr<const tokenizer::Tokenizer>> load_tokenizer(const EngineConfig& config) {
  const bool explicit_dir = !config.tokenizer_dir.empty();
  const auto dir = explicit_dir ? config.tokenizer_dir : config.model_dir;
  if (!std::filesystem::exists(dir / "tokenizer.json")) {
    if (explicit_dir) return not_found("no tokenizer.json in {}", dir.string());
    spdlog::warn("no tokenizer.json in {}: text output and stop strings are unavailable",
                 dir.string());
    return std::shared_ptr<const tokenizer::Tokenizer>();
  }
  return tokenizer::Tokenizer::load(dir);
}

}  // namespace

Expected<EngineParts> Engine::load_parts(const EngineConfig& config) {
  model::RunnerOptions options;
  options.model_dir = config.model_dir;
  KVTIER_ASSIGN_OR_RETURN(options.load_format, model::parse_load_format(config.load_format));
  options.seed = config.seed;
  options.device = config.device;
  options.block_size = config.block_size;
  options.num_gpu_blocks = config.num_gpu_blocks_override.value_or(-1);
  options.gpu_memory_utilization = config.gpu_memory_utilization;
  options.cpu_kv_cache_bytes = config.cpu_kv_cache_bytes;
  options.max_num_batched_tokens = config.max_num_batched_tokens;
  // Without chunked prefill a whole prompt runs in one step (the scheduler's budget grows to
  // max_model_len), so the runner's buffers must hold it.
  if (!config.enable_chunked_prefill && config.max_model_len > config.max_num_batched_tokens) {
    options.max_num_batched_tokens = config.max_model_len;
  }
  options.max_num_seqs = config.max_num_seqs;
  options.num_threads = config.num_threads;
  options.enforce_eager = config.enforce_eager;

  EngineParts parts;
  KVTIER_ASSIGN_OR_RETURN(parts.runner, model::create_model_runner(options));
  KVTIER_ASSIGN_OR_RETURN(parts.tokenizer, load_tokenizer(config));

  if (parts.tokenizer) {
    if (auto eos = parts.tokenizer->eos_token_id()) parts.eos_token_ids.push_back(*eos);
  }
  KVTIER_RETURN_IF_ERROR(read_generation_eos(config.model_dir, parts.eos_token_ids));
  if (parts.runner->config().eos_token_id >= 0) {
    parts.eos_token_ids.push_back(parts.runner->config().eos_token_id);
  }
  std::sort(parts.eos_token_ids.begin(), parts.eos_token_ids.end());
  parts.eos_token_ids.erase(std::unique(parts.eos_token_ids.begin(), parts.eos_token_ids.end()),
                            parts.eos_token_ids.end());

  KVTIER_ASSIGN_OR_RETURN(parts.events, kv::create_event_publisher(config.kv_events_config));
  kv::OffloadOptions offload;
  offload.kv_transfer_config = config.kv_transfer_config;
  offload.kv_offloading_size_gib = config.kv_offloading_size_gib;
  offload.kv_offloading_backend = config.kv_offloading_backend;
  offload.events = parts.events.get();
  KVTIER_ASSIGN_OR_RETURN(parts.connector,
                          kv::create_offload_connector(offload, parts.runner->kv_pool()));

  return parts;
}

Expected<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config) {
  KVTIER_ASSIGN_OR_RETURN(EngineParts parts, load_parts(config));
  KVTIER_ASSIGN_OR_RETURN(auto engine, create(config, std::move(parts)));
  engine->start();
  return engine;
}

}  // namespace kvtier::engine
