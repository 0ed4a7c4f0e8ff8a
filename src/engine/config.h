#pragma once
// Everything that shapes an engine, as `kvtier serve` and `kvtier generate` gather it from
// vLLM-style flags.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "engine/scheduling_policy.h"
#include "kv/block_hasher.h"

namespace kvtier::engine {

struct EngineConfig {
  std::filesystem::path model_dir;
  std::filesystem::path tokenizer_dir;   // empty: the model folder
  std::string served_model_name;         // empty: the model folder's name
  std::string device = "cpu";            // "cpu" or "cuda"
  std::string dtype = "auto";
  std::string load_format = "auto";      // --load-format: auto, safetensors or dummy
  uint64_t seed = 0;

  int32_t block_size = 16;
  int32_t max_num_seqs = 256;
  int32_t max_num_batched_tokens = 2048;
  int32_t max_model_len = 0;             // 0: from the model config
  bool enable_prefix_caching = true;
  // --prefix-caching-hash-algo with PYTHONHASHSEED; null: the default, xxh3_64.
  std::shared_ptr<const kv::BlockHasher> block_hasher;
  bool enable_chunked_prefill = true;
  // --scheduling-policy: fcfs refuses a request's non-zero priority; priority orders by it.
  SchedulingPolicy scheduling_policy = SchedulingPolicy::kFcfs;
  double gpu_memory_utilization = 0.9;
  std::optional<int32_t> num_gpu_blocks_override;
  int64_t cpu_kv_cache_bytes = 1LL << 30; // CPU backend's KV pool when no override is given

  // vLLM's JSON flags, verbatim; parsed (with errors naming the key) when the engine starts.
  std::string kv_transfer_config;        // e.g. {"kv_connector":"OffloadingConnector",...}
  std::string kv_events_config;          // e.g. {"enable_kv_cache_events":true,...}
  std::optional<double> kv_offloading_size_gib;  // --kv-offloading-size
  std::string kv_offloading_backend;     // --kv-offloading-backend (native)

  int32_t num_threads = 0;               // CPU backend threads; 0 = all cores
  bool enforce_eager = false;            // --enforce-eager: no CUDA graphs
  int32_t max_logprobs = 20;             // --max-logprobs: most top logprobs a request may ask for
};

}  // namespace kvtier::engine
