#include "router/scheduling_request.h"

#include <algorithm>

#include "kv/block_hash.h"

namespace kvtier::router {

SchedulingRequest::SchedulingRequest(std::vector<int32_t> prompt_tokens, std::string cache_salt)
    : tokens_(std::move(prompt_tokens)), cache_salt_(std::move(cache_salt)), has_prompt_(true) {}

std::span<const uint64_t> SchedulingRequest::block_keys(int32_t block_size,
                                                        size_t max_blocks) const {
  if (block_size <= 0) return {};
  std::vector<uint64_t>* keys = nullptr;
  for (auto& [size, k] : keys_by_block_size_) {
    if (size == block_size) keys = &k;
  }
  if (!keys) keys = &keys_by_block_size_.emplace_back(block_size, std::vector<uint64_t>()).second;
  const size_t full = tokens_.size() / size_t(block_size);
  const size_t wanted = std::min(full, max_blocks);
  if (keys->size() < wanted) {
    std::span<const int32_t> tokens(tokens_.data(), wanted * size_t(block_size));
    kv::extend_block_hashes(*keys, tokens, block_size, kv::salt_key(cache_salt_));
  }
  return std::span<const uint64_t>(keys->data(), std::min(keys->size(), wanted));
}

}  // namespace kvtier::router
