#pragma once
// What the scheduler knows about one request: its prompt tokens (chat template applied), and the
// engine's block keys for them, computed on first use per block size and shared by the scorers.
// One scheduling cycle uses it from one thread at a time.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv/block_hasher.h"

namespace kvtier::router {

class SchedulingRequest {
 public:
  SchedulingRequest() = default;
  // cache_salt goes into the first block's key as the engine mixes it in.
  SchedulingRequest(std::vector<int32_t> prompt_tokens, std::string cache_salt);

  // False for requests whose prompt the router could not read (they are routed on load only).
  bool has_prompt() const { return has_prompt_; }
  std::span<const int32_t> prompt_tokens() const { return tokens_; }
  const std::string& cache_salt() const { return cache_salt_; }

  // The router's number for the request, unique while it runs (scorers that follow a request
  // from pick to response key their state by it). 0 until set.
  uint64_t id() const { return id_; }
  void set_id(uint64_t id) { id_ = id; }

  // The client's request headers, names lower-case (session affinity reads them).
  void set_headers(std::vector<std::pair<std::string, std::string>> headers);
  std::optional<std::string_view> header(std::string_view lower_case_name) const;

  // Keys of the first min(full blocks, max_blocks) blocks of the prompt: kv::hash_token_blocks.
  std::span<const uint64_t> block_keys(int32_t block_size, size_t max_blocks) const;
  // The same under `hasher`'s algorithm and seed (the engines' --prefix-caching-hash-algo and
  // PYTHONHASHSEED). The hasher must outlive the request.
  std::span<const uint64_t> block_keys(const kv::BlockHasher& hasher, int32_t block_size,
                                       size_t max_blocks) const;

 private:
  struct Keys {
    const kv::BlockHasher* hasher;
    int32_t block_size;
    kv::BlockHashChain chain;
    std::vector<uint64_t> keys;
  };
  std::vector<int32_t> tokens_;
  std::string cache_salt_;
  bool has_prompt_ = false;
  uint64_t id_ = 0;
  std::vector<std::pair<std::string, std::string>> headers_;
  mutable std::vector<Keys> keys_;  // one per (hasher, block size) asked for
};

}  // namespace kvtier::router
