#pragma once
// Writes a Qwen3 checkpoint in the Hugging Face folder layout: config.json,
// generation_config.json, model.safetensors (or model-0000i-of-0000n.safetensors shards with
// model.safetensors.index.json), and the tokenizer files when a tokenizer folder is given.
// Weights are seeded random (random_init.h) and streamed, so the 14B preset never sits in memory.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "model/config.h"

namespace kvtier::model {

struct CheckpointWriteOptions {
  std::filesystem::path out_dir;
  uint64_t seed = 0;
  // Files above this size are split into shards, like save_pretrained's max_shard_size.
  uint64_t max_shard_bytes = 5'000'000'000ull;
  // tokenizer.json and tokenizer_config.json are copied from here when present; empty: none.
  std::filesystem::path tokenizer_dir;
  int num_threads = 0;
};

// config.json as transformers writes it for Qwen3 (keys sorted, its field names and defaults).
nlohmann::json hf_config_json(const ModelConfig& config);
nlohmann::json hf_generation_config_json(const ModelConfig& config);

// Writes the checkpoint with config.torch_dtype weights.
Status write_random_checkpoint(const ModelConfig& config, const CheckpointWriteOptions& options);

}  // namespace kvtier::model
