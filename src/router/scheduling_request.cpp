#include "router/scheduling_request.h"

#include <algorithm>
#include <cctype>

#include "kv/block_hash.h"

namespace kvtier::router {

SchedulingRequest::SchedulingRequest(std::vector<int32_t> prompt_tokens, std::string cache_salt)
    : tokens_(std::move(prompt_tokens)), cache_salt_(std::move(cache_salt)), has_prompt_(true) {}

void SchedulingRequest::set_headers(std::vector<std::pair<std::string, std::string>> headers) {
  for (auto& [name, value] : headers) {
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  }
  headers_ = std::move(headers);
}

std::optional<std::string_view> SchedulingRequest::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers_) {
    if (name == lower_case_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::span<const uint64_t> SchedulingRequest::block_keys(int32_t block_size,
                                                        size_t max_blocks) const {
  return block_keys(*kv::BlockHasher::default_hasher(), block_size, max_blocks);
}

std::span<const uint64_t> SchedulingRequest::block_keys(const kv::BlockHasher& hasher,
                                                        int32_t block_size,
                                                        size_t max_blocks) const {
  if (block_size <= 0) return {};
  Keys* k = nullptr;
  for (auto& candidate : keys_) {
    if (candidate.hasher == &hasher && candidate.block_size == block_size) k = &candidate;
  }
  if (!k) {
    // The chain does not own the hasher: an aliasing shared_ptr with no control block.
    std::shared_ptr<const kv::BlockHasher> borrowed(std::shared_ptr<const kv::BlockHasher>(),
                                                    &hasher);
    k = &keys_.emplace_back(Keys{&hasher, block_size, kv::BlockHashChain(borrowed, cache_salt_),
                                 {}});
  }
  const size_t full = tokens_.size() / size_t(block_size);
  const size_t wanted = std::min(full, max_blocks);
  if (k->keys.size() < wanted) {
    std::span<const int32_t> tokens(tokens_.data(), wanted * size_t(block_size));
    k->chain.extend(k->keys, tokens, block_size);
  }
  return std::span<const uint64_t>(k->keys.data(), std::min(k->keys.size(), wanted));
}

}  // namespace kvtier::router
