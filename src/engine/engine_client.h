#pragma once
// The engine as its clients (server, generate, tests) see it: thread-safe submit and abort, and
// a stats snapshot for /metrics. Engine implements it; tests may substitute a scripted fake.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "common/status.h"
#include "engine/request.h"

namespace kvtier::engine {

struct EngineInfo {
  std::string model_name;
  int32_t max_model_len = 0;
  int32_t vocab_size = 0;
  int32_t block_size = 16;
  int32_t num_gpu_blocks = 0;
  int32_t num_cpu_blocks = 0;          // 0 without the offload tier
  int32_t max_num_seqs = 0;
  int32_t max_num_batched_tokens = 0;
  bool enable_prefix_caching = true;
  std::string device = "cpu";
};

// Cumulative counters and current gauges, read by the metrics endpoint (any thread).
struct EngineStats {
  int32_t num_requests_running = 0;
  int32_t num_requests_waiting = 0;      // includes LOADING (waiting for CPU-tier KV)
  int32_t num_requests_loading = 0;
  double kv_cache_usage = 0.0;           // fraction of GPU blocks in use, 0..1
  double cpu_cache_usage = 0.0;          // fraction of CPU-tier blocks holding data
  uint64_t prefix_cache_queries = 0;     // tokens
  uint64_t prefix_cache_hits = 0;        // tokens
  uint64_t external_prefix_cache_queries = 0;  // CPU tier, tokens
  uint64_t external_prefix_cache_hits = 0;
  uint64_t num_preemptions = 0;
  uint64_t prompt_tokens = 0;
  uint64_t generation_tokens = 0;
  uint64_t num_steps = 0;
  HistogramSnapshot iteration_tokens;    // tokens per step (vllm:iteration_tokens_total buckets)
  // Offload transfers by type ("GPU_to_CPU", "CPU_to_GPU"): bytes, seconds, count of completed
  // batches, and failed batches (counted apart; their bytes and time are not in the others).
  struct Transfer {
    uint64_t bytes = 0;
    double seconds = 0.0;
    uint64_t count = 0;
    uint64_t failed = 0;
    HistogramSnapshot sizes;  // bytes per completed batch (vllm:kv_offload_size)
  };
  std::map<std::string, Transfer> transfers;
};

class EngineClient {
 public:
  virtual ~EngineClient() = default;
  // Accepts a request or says why not (prompt too long, bad params, draining). On rejection the
  // sink is never called. After acceptance the sink receives deltas until finish_reason is set.
  virtual Status submit(GenerationRequest request) = 0;
  // Finishes the request with FinishReason::kAbort and frees its blocks; unknown ids are ignored.
  virtual void abort(const std::string& request_id) = 0;
  virtual EngineStats stats() const = 0;
  virtual const EngineInfo& info() const = 0;
};

}  // namespace kvtier::engine
